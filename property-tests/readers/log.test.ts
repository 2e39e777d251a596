import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { FEED_MAGIC, STREAM_MAGIC, encodeFrame, frameLength } from '../../src/backends/flatfile/frame.js';
import { scanSegment } from '../../src/backends/flatfile/segment-scan.js';
import type { RecordedEvent } from '../../src/kernel/types.js';
import { encodeMsgpack } from '../../src/codec/event-codec.js';
import fc from '../support/fc-setup.js';
import { type Mutation, mutate, mutations } from '../support/mutate.js';
import { readerProperties } from '../support/reader-property.js';
import { type ErrorInfo, type ReadResult, type Reference, STREAMS, buildStore, eventDiff, isPrefix, readBack, steps } from '../support/scenario.js';
import { FolderSnapshot, filesUnder } from '../support/temp.js';

/**
 * The feed (feed.ts) and the stream segments (segment-scan.ts, stream-log.ts)
 * as the store reads them when it opens and reads: one file of a small store
 * damaged (flips, cuts, splices, random bytes, a stretch copied over another,
 * huge length and offset fields), then the store opened and every stream read
 * both ways and the whole feed read. Whatever is read back is an exact prefix
 * of what was appended (backward: the last versions, in order), or the read
 * fails with CORRUPT; never another error, a hang, or a huge allocation.
 *
 * The stores are built once (in the worker's setup) and put back between cases
 * with FolderSnapshot, which rewrites only what the previous case changed.
 */

interface Image {
  dir: string;
  ref: Reference;
  snapshot: FolderSnapshot;
  /** Stream and feed segment files (relative), with the byte offsets of each one's length and offset fields. */
  files: { rel: string; fields: number[] }[];
}

const images: Image[] = [];
let work = '';

async function buildImage(dir: string, seed: number, options: { segmentBytes?: number; unsynced?: boolean }): Promise<Image> {
  const [plan] = fc.sample(steps(8), { seed, numRuns: 1 });
  const ref = await buildStore(dir, plan!, options.segmentBytes ? { segmentBytes: options.segmentBytes } : {});
  // A store that crashed before syncing: recovery may cut torn tails (with `synced`, damage below it is CORRUPT).
  if (options.unsynced) fs.rmSync(path.join(dir, 'synced'), { force: true });
  const files = filesUnder(dir)
    .filter((f) => f.endsWith('.seg') || f.endsWith('.feed'))
    .map((f) => {
      const scan = scanSegment(fs.readFileSync(f), f, f.endsWith('.feed') ? FEED_MAGIC : STREAM_MAGIC, 64 * 2 ** 20);
      const fields = scan.frames.flatMap((fr) => [12, 16, 20, 24, 32, 40, frameLength(fr.header.storedLength) - 8].map((o) => fr.offset + o));
      return { rel: path.relative(dir, f), fields };
    });
  return { dir, ref, snapshot: new FolderSnapshot(dir), files };
}

function assertCorrupt(err: ErrorInfo | undefined, what: string): void {
  if (!err) return;
  assert.ok(err.name === 'FfcdbError' && err.code === 'CORRUPT', `${what}: failed with ${err.name} ${err.code ?? ''}: ${err.message}`);
}

/** A backward read: the stream's last versions, newest first, each exactly as appended. */
function assertBackward(r: ReadResult, expected: readonly RecordedEvent[], what: string): void {
  r.events.forEach((e, i) => {
    const want = expected[e.version - 1];
    assert.ok(want, `${what}: read version ${e.version}, only ${expected.length} were appended`);
    const d = eventDiff(e, want!);
    assert.not.ok(d, `${what}: version ${e.version} differs from what was appended: ${d}`);
    if (i > 0) assert.is(e.version, r.events[i - 1]!.version - 1, `${what}: versions not consecutive`);
  });
  assertCorrupt(r.error, what);
}

/** A feed frame whose checksum is right but whose payload is not what a feed frame holds (any bytes, any msgpack value). */
interface Forgery {
  frame: number;
  payload: Uint8Array;
}

const forgery: fc.Arbitrary<Forgery> = fc.record({
  frame: fc.nat(),
  payload: fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.jsonValue({ maxDepth: 2 }).map((v) => new Uint8Array(encodeMsgpack(v)))),
});

function forge(bytes: Buffer, f: Forgery): Buffer {
  const frames = scanSegment(bytes, 'feed', FEED_MAGIC, 64 * 2 ** 20).frames;
  if (frames.length === 0) return bytes;
  const { offset, header } = frames[f.frame % frames.length]!;
  const forged = encodeFrame({ ...header, rawLength: f.payload.length }, f.payload);
  return Buffer.concat([bytes.subarray(0, offset), forged, bytes.subarray(offset + frameLength(header.storedLength))]);
}

async function damagedStore([image, file, damage]: [number, number, Mutation[] | Forgery]): Promise<void> {
  const { ref, snapshot, files } = images[image % images.length]!;
  const forged = !Array.isArray(damage);
  const candidates = forged ? files.filter((f) => f.rel.endsWith('.feed')) : files;
  const target = candidates[file % candidates.length]!;
  snapshot.restore(work);
  const p = path.join(work, target.rel);
  const bytes = fs.readFileSync(p);
  fs.writeFileSync(p, Array.isArray(damage) ? mutate(bytes, damage, target.fields) : forge(bytes, damage));
  const what = `${target.rel} ${forged ? 'forged' : 'damaged'} by ${JSON.stringify(damage)}`;
  const o = await readBack(work);
  if (o.openError) return assertCorrupt(o.openError, `${what}: opening`);
  const d = isPrefix(o.feed.events, ref.feed);
  assert.not.ok(d, `${what}: feed: ${d}`);
  assertCorrupt(o.feed.error, `${what}: feed`);
  for (const s of STREAMS) {
    const f = isPrefix(o.forward[s]!.events, ref.streams[s]!);
    assert.not.ok(f, `${what}: ${s} forward: ${f}`);
    assertCorrupt(o.forward[s]!.error, `${what}: ${s} forward`);
    assertBackward(o.backward[s]!, ref.streams[s]!, `${what}: ${s} backward`);
    const v = o.versions[s]!;
    if (typeof v !== 'number') assertCorrupt(v, `${what}: streamVersion(${s})`);
  }
  if (typeof o.head !== 'number') assertCorrupt(o.head, `${what}: headPosition`);
}

readerProperties(
  import.meta.url,
  'property: damaged feed and stream segments',
  {
    'one damaged feed or stream segment file (or a forged feed frame, checksum right) reads back as an exact prefix of what was appended, or fails with CORRUPT': {
      arbitrary: fc.tuple(fc.nat(), fc.nat(), fc.oneof({ weight: 4, arbitrary: mutations(3) }, { weight: 1, arbitrary: forgery })),
      checkAsync: damagedStore,
    },
  },
  {
    setup: async (scratch) => {
      work = path.join(scratch, 'work');
      images.push(await buildImage(path.join(scratch, 'one'), 1, {}));
      images.push(await buildImage(path.join(scratch, 'small-segments'), 2, { segmentBytes: 200, unsynced: true }));
      images.push(await buildImage(path.join(scratch, 'unsynced'), 3, { unsynced: true }));
    },
  },
);
