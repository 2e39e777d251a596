import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { encodeMsgpack } from '../../src/codec/event-codec.js';
import { JOURNAL_MAGIC } from '../../src/backends/flatfile/commit-journal.js';
import { FEED_MAGIC, STREAM_MAGIC, encodeFrame, frameLength, parseHeader } from '../../src/backends/flatfile/frame.js';
import { replayJournals } from '../../src/backends/flatfile/journal-replay.js';
import { scanSegment } from '../../src/backends/flatfile/segment-scan.js';
import { readSynced } from '../../src/backends/flatfile/store-files.js';
import fc from '../support/fc-setup.js';
import { type Mutation, mutate, mutations } from '../support/mutate.js';
import { assertReaderError, readerProperties } from '../support/reader-property.js';
import { buildStore, steps } from '../support/scenario.js';
import { FolderSnapshot, filesUnder } from '../support/temp.js';

/**
 * Commit journal records (commit-journal.ts, read by journal-replay.ts at
 * opening): a journal file damaged (flips, cuts, splices, random bytes, huge
 * length fields), or holding crafted records whose checksum is right but whose
 * writes are not (payload not msgpack, not a list of writes, paths outside the
 * logs, offsets past a file's end or of 2^40, other bytes), is replayed without
 * another error than CORRUPT or UNSAFE_PATH, without a hang or a huge
 * allocation; an intact journal replays every record to the same bytes.
 */

const MAX = 64 * 2 ** 20;
/** No such process: the journal's owner is gone, as after a crash. */
const GONE_PID = 99_999_999;
const JOURNAL = path.join('journal', `1-${GONE_PID}.journal`);

type Row = [string, number, Uint8Array];
interface JournalRecord {
  firstPosition: number;
  count: number;
  rows: Row[];
}

let work = '';
let image: { snapshot: FolderSnapshot; records: JournalRecord[]; files: Map<string, Buffer> } | undefined;

/** The records a writer with `always` durability would have left: per stream frame, its bytes and its feed frame's. */
function recordsOf(dir: string): JournalRecord[] {
  const records: JournalRecord[] = [];
  for (const file of filesUnder(dir).filter((f) => f.endsWith('.seg'))) {
    const buf = fs.readFileSync(file);
    for (const f of scanSegment(buf, file, STREAM_MAGIC, MAX).frames) {
      const feedRel = path.join('feed', `${String(f.header.linkSegment).padStart(16, '0')}.feed`);
      const feed = fs.readFileSync(path.join(dir, feedRel));
      const feedHeader = parseHeader(feed, f.header.linkOffset, FEED_MAGIC, MAX);
      assert.type(feedHeader, 'object', 'the intact store links each stream frame to its feed frame');
      const feedLength = frameLength((feedHeader as { storedLength: number }).storedLength);
      records.push({
        firstPosition: f.header.firstPosition,
        count: f.header.count,
        rows: [
          [path.relative(dir, file), f.offset, buf.subarray(f.offset, f.offset + frameLength(f.header.storedLength))],
          [feedRel, f.header.linkOffset, feed.subarray(f.header.linkOffset, f.header.linkOffset + feedLength)],
        ],
      });
    }
  }
  return records.sort((a, b) => a.firstPosition - b.firstPosition);
}

function recordBytes(r: JournalRecord, payload: Uint8Array = encodeMsgpack(r.rows)): Buffer {
  return encodeFrame({ magic: JOURNAL_MAGIC, flags: 0, count: r.count, epoch: 1, rawLength: payload.length, linkOffset: 0, linkSegment: 0, firstVersion: 1, firstPosition: r.firstPosition }, payload);
}

/** A write changed the way a forger (or a bug) would: the record keeps a right checksum. */
type Forgery =
  | { kind: 'payload'; bytes: Uint8Array }
  | { kind: 'value'; value: unknown }
  | { kind: 'offset'; row: number; offset: number }
  | { kind: 'path'; row: number; path: string }
  | { kind: 'bytes'; row: number; bytes: Uint8Array }
  | { kind: 'row'; row: number; value: unknown };

const forgery: fc.Arbitrary<Forgery> = fc.oneof(
  fc.record({ kind: fc.constant<'payload'>('payload'), bytes: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ kind: fc.constant<'value'>('value'), value: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({
    kind: fc.constant<'offset'>('offset'),
    row: fc.nat(1),
    offset: fc.oneof(fc.nat(4096), fc.constantFrom(2 ** 40, 2 ** 32, Number.MAX_SAFE_INTEGER, -1, 0.5, 2 ** 53 + 2)),
  }),
  fc.record({
    kind: fc.constant<'path'>('path'),
    row: fc.nat(1),
    path: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('../outside', 'streams/../../outside', '/etc/passwd', 'feed', 'streams', 'feed/x/../../synced', 'format', 'streams/aa')),
  }),
  fc.record({ kind: fc.constant<'bytes'>('bytes'), row: fc.nat(1), bytes: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ kind: fc.constant<'row'>('row'), row: fc.nat(1), value: fc.jsonValue({ maxDepth: 1 }) }),
);

function forge(r: JournalRecord, f: Forgery): Buffer {
  const rows: unknown[] = r.rows.map((row) => [...row]);
  const row = (i: number) => rows[i % rows.length] as unknown[];
  switch (f.kind) {
    case 'payload':
      return recordBytes(r, f.bytes);
    case 'value':
      return recordBytes(r, encodeMsgpack(f.value));
    case 'offset':
      row(f.row)[1] = f.offset;
      break;
    case 'path':
      row(f.row)[0] = f.path;
      break;
    case 'bytes':
      row(f.row)[2] = f.bytes;
      break;
    case 'row':
      rows[f.row % rows.length] = f.value;
      break;
  }
  return recordBytes(r, encodeMsgpack(rows));
}

type Input = { kind: 'intact' } | { kind: 'damaged'; damage: Mutation[] } | { kind: 'forged'; record: number; forgery: Forgery; keepAfter: boolean };

const input: fc.Arbitrary<Input> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Input>({ kind: 'intact' }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant<'damaged'>('damaged'), damage: mutations() }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant<'forged'>('forged'), record: fc.nat(), forgery, keepAfter: fc.boolean() }) },
);

function journalBytes(records: readonly JournalRecord[], inp: Input): { bytes: Buffer; fields: number[] } {
  const bufs = records.map((r) => recordBytes(r));
  if (inp.kind === 'forged') {
    const i = inp.record % records.length;
    bufs[i] = forge(records[i]!, inp.forgery);
    if (!inp.keepAfter) bufs.length = i + 1;
  }
  const fields: number[] = [];
  let at = 0;
  for (const b of bufs) {
    fields.push(...[12, 16, 40, b.length - 8].map((o) => at + o));
    at += b.length;
  }
  // The file is preallocated: zeros after the last record.
  return { bytes: Buffer.concat([...bufs, Buffer.alloc(256)]), fields };
}

function replayCase(inp: Input): void {
  const { snapshot, records, files } = image!;
  snapshot.restore(work);
  const journal = journalBytes(records, inp);
  fs.writeFileSync(path.join(work, JOURNAL), inp.kind === 'damaged' ? mutate(journal.bytes, inp.damage, journal.fields) : journal.bytes);
  let applied: number | undefined;
  try {
    applied = replayJournals(work, readSynced(work), { emit: () => undefined });
  } catch (err) {
    assertReaderError(err, `replaying ${JSON.stringify(inp)}`, ['CORRUPT', 'UNSAFE_PATH']);
  }
  // Nothing appears outside the logs and the journal folder, whatever the records say.
  for (const f of filesUnder(work)) {
    const rel = path.relative(work, f);
    assert.ok(files.has(rel) || rel === JOURNAL || rel.startsWith(`streams${path.sep}`) || rel.startsWith(`feed${path.sep}`), `replay wrote ${rel}`);
    if (!rel.startsWith(`streams${path.sep}`) && !rel.startsWith(`feed${path.sep}`) && rel !== JOURNAL) assert.ok(fs.readFileSync(f).equals(files.get(rel)!), `replay changed ${rel}`);
  }
  if (inp.kind === 'intact') {
    assert.is(applied, records.length, 'an intact journal replays every record');
    for (const [rel, bytes] of files) if (rel !== JOURNAL) assert.ok(fs.readFileSync(path.join(work, rel)).equals(bytes), `replaying an intact journal changed ${rel}`);
  }
}

readerProperties(
  import.meta.url,
  'property: commit journal records',
  {
    'a damaged or forged commit journal replays, or fails with CORRUPT or UNSAFE_PATH; nothing is written outside the logs; an intact one replays to the same bytes': {
      arbitrary: input,
      check: replayCase,
    },
  },
  {
    setup: async (scratch) => {
      work = path.join(scratch, 'work');
      const dir = path.join(scratch, 'image');
      const [plan] = fc.sample(steps(6), { seed: 7, numRuns: 1 });
      await buildStore(dir, plan!);
      // As after a power failure: nothing recorded as synced, so every record is above it.
      fs.rmSync(path.join(dir, 'synced'), { force: true });
      fs.mkdirSync(path.join(dir, 'journal'), { recursive: true });
      const records = recordsOf(dir);
      const files = new Map(filesUnder(dir).map((f) => [path.relative(dir, f), fs.readFileSync(f)]));
      image = { snapshot: new FolderSnapshot(dir), records, files };
    },
  },
);
