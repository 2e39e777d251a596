import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { Packr } from 'msgpackr';
import { encodeChecksummed } from '../../src/storage/checksummed-file.js';
import { type Manifest, encodeManifest, readManifest } from '../../src/search/manifest.js';
import { MemorySegment } from '../../src/search/memory-segment.js';
import { SegmentFile } from '../../src/search/segment-file.js';
import { segmentWriter } from '../../src/search/segment-writer.js';
import { NO_DEAD, emptyPostings, sortKey } from '../../src/search/segment.js';
import { docKey } from '../../src/projections/search/search-doc.js';
import { initSearchRegistry } from '../../src/projections/search/projection.js';
import fc from '../support/fc-setup.js';
import { type Mutation, mutate, mutations } from '../support/mutate.js';
import { assertReaderError, readerProperties } from '../support/reader-property.js';

/**
 * Search segment files (segment-file.ts reading segment-format.ts) and the
 * search manifest (manifest.ts): a segment damaged in any way (flips, cuts,
 * splices, random bytes, huge lengths and offsets in its trailer) opens and
 * answers every kind of read, or fails with CORRUPT (UNSUPPORTED_FORMAT for
 * another format number); never another error, a hang or a huge allocation;
 * an intact one reads back what was written. A damaged or forged manifest
 * (checksum right, payload not a manifest) reads as a manifest or as none
 * (the index is then rebuilt), never as an error.
 */

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'river', 'stone', 'cloud', 'maple', 'quartz', 'ember'];
const DOCS = 140;

let scratch = '';
let segment: Buffer | undefined;
let manifest: Buffer | undefined;
let written: { key: string; userId: string; body: string }[] = [];

/** Every kind of read a query or a merge makes, over the whole segment. */
function readEverything(s: SegmentFile): { docs: number; keys: string[]; bodies: string[]; terms: string[]; postings: number } {
  const keys: string[] = [];
  const bodies: string[] = [];
  for (let i = 0; i < s.docCount; i++) {
    const d = s.doc(i);
    keys.push(d.key);
    bodies.push(s.text(i).body ?? '');
    assert.is(s.find(sortKey(d.userId, d.key)), i, 'find gives back the ordinal of a sort key');
  }
  const terms = s.terms('');
  let postings = 0;
  for (const term of terms) {
    postings += s.allPostings(term).docs.length;
    s.df(term);
    for (const user of ['u1', 'u2']) s.userPostings(term, user, true, { out: emptyPostings(), base: 0, dead: NO_DEAD });
  }
  s.withPrefix('u');
  return { docs: s.docCount, keys, bodies, terms, postings };
}

function checkSegment(damage: Mutation[] | undefined): void {
  const bytes = damage ? mutate(segment!, damage, trailerFields(segment!.length)) : segment!;
  const file = path.join(scratch, 'case.seg');
  fs.writeFileSync(file, bytes);
  let s: SegmentFile | undefined;
  try {
    s = SegmentFile.open(file);
  } catch (err) {
    assertReaderError(err, 'SegmentFile.open', ['CORRUPT', 'UNSUPPORTED_FORMAT']);
    assert.ok(damage, 'the intact segment opens');
    return;
  }
  try {
    const read = readEverything(s);
    if (!damage) {
      assert.is(read.docs, written.length);
      assert.equal(read.keys, written.map((w) => ({ ...w, sk: sortKey(w.userId, w.key) })).sort((a, b) => (a.sk < b.sk ? -1 : 1)).map((w) => w.key));
      assert.ok(read.terms.length >= WORDS.length && read.postings > 0);
    }
  } catch (err) {
    assertReaderError(err, `reading the segment damaged by ${JSON.stringify(damage)}`);
    assert.ok(damage, `the intact segment reads: ${String(err)}`);
  } finally {
    s.close();
  }
}

/** The trailer's meta offset (f64), meta length and crc (u32), big-endian, written over by `huge` (little-endian is as bad). */
function trailerFields(size: number): number[] {
  return [size - 20, size - 16, size - 12, size - 8];
}

type ManifestInput = { kind: 'damaged'; damage: Mutation[] } | { kind: 'forged'; payload: Uint8Array } | { kind: 'value'; value: unknown } | { kind: 'field'; field: keyof Manifest; value: unknown };

const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(null), fc.uint8Array({ maxLength: 8 }), fc.constant(new Map([['a', 1]])));
const manifestFields: (keyof Manifest)[] = ['version', 'stem', 'position', 'eventPosition', 'eventId', 'segments', 'stats', 'registry', 'nextSegment'];

const manifestInput: fc.Arbitrary<ManifestInput> = fc.oneof(
  fc.record({ kind: fc.constant<'damaged'>('damaged'), damage: mutations() }),
  fc.record({ kind: fc.constant<'forged'>('forged'), payload: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ kind: fc.constant<'value'>('value'), value: anyValue }),
  fc.record({ kind: fc.constant<'field'>('field'), field: fc.constantFrom(...manifestFields), value: anyValue }),
);

const structured = new Packr({ structuredClone: true });
const MANIFEST_KIND = { magic: 0x4646534d, format: 1 };

function manifestBytes(input: ManifestInput): Buffer {
  switch (input.kind) {
    case 'damaged':
      return mutate(manifest!, input.damage, [12]);
    case 'forged':
      return encodeChecksummed(MANIFEST_KIND, input.payload);
    case 'value':
      return encodeChecksummed(MANIFEST_KIND, structured.pack(input.value));
    case 'field': {
      const m = structured.unpack(manifest!.subarray(16)) as Record<string, unknown>;
      m[input.field] = input.value;
      return encodeChecksummed(MANIFEST_KIND, structured.pack(m));
    }
  }
}

function checkManifest(input: ManifestInput): void {
  const dir = path.join(scratch, 'manifest');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'manifest'), manifestBytes(input));
  let m: Manifest | undefined;
  try {
    m = readManifest(dir);
  } catch (err) {
    throw new Error(`readManifest threw for ${JSON.stringify(input)} instead of reading no manifest: ${err instanceof Error ? err.stack : String(err)}`);
  }
  if (m === undefined) return;
  // What it gives is a manifest: the fields the index reads have their types.
  assert.type(m.version, 'number');
  assert.type(m.stem, 'boolean');
  for (const n of [m.position, m.eventPosition, m.nextSegment]) assert.ok(Number.isSafeInteger(n) && n >= 0, `not a position: ${n}`);
  assert.type(m.eventId, 'string');
  assert.ok(Array.isArray(m.segments) && m.segments.every((s) => typeof s.name === 'string' && Array.isArray(s.dead) && s.dead.every((d) => Number.isSafeInteger(d))));
  assert.ok(m.stats && Number.isSafeInteger(m.stats.docs) && Array.isArray(m.stats.lengths) && Array.isArray(m.stats.fieldDocs));
  assert.ok(m.registry && m.registry.sessions instanceof Map);
}

readerProperties(
  import.meta.url,
  'property: search segments and manifest',
  {
    'a damaged segment file opens and reads (documents, text, terms, postings, lookups) or fails with CORRUPT; the intact one reads back what was written': {
      arbitrary: fc.option(mutations(), { freq: 20 }),
      check: (damage) => checkSegment(damage ?? undefined),
    },
    'a damaged or forged search manifest reads as a well-formed manifest or as none, never as an error': {
      arbitrary: manifestInput,
      check: checkManifest,
    },
  },
  {
    setup: (dir) => {
      scratch = dir;
      const memory = new MemorySegment(false);
      written = [];
      for (let i = 0; i < DOCS; i++) {
        const userId = i % 3 === 0 ? 'u2' : 'u1';
        const body = Array.from({ length: 3 + (i % 5) }, (_, j) => WORDS[(i * 7 + j * 3) % WORDS.length]).join(' ');
        const key = docKey('message', `s${i % 7}`, `m${String(i).padStart(4, '0')}`);
        memory.add({ key, kind: 'message', userId, sessionId: `s${i % 7}`, itemId: `m${i}`, role: 'user', timestamp: i, fields: { body } });
        written.push({ key, userId, body });
      }
      const writer = segmentWriter(dir, 'intact.seg', [{ segment: memory, dead: new Set(), deadDf: new Map() }]);
      while (!writer.next().done);
      segment = fs.readFileSync(path.join(dir, 'intact.seg'));
      manifest = encodeManifest({
        version: 1,
        stem: false,
        position: 10,
        eventPosition: 10,
        eventId: 'e10',
        segments: [{ name: 'intact.seg', dead: [1, 2] }],
        stats: { docs: DOCS, lengths: [0, 0, 1000, 0], fieldDocs: [0, 0, DOCS, 0] },
        registry: initSearchRegistry(),
        nextSegment: 2,
      });
    },
  },
);
