import fs from 'node:fs';
import path from 'node:path';
import fc from '../support/fc-setup.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FEED_MAGIC, STREAM_MAGIC, frameLength } from '../../src/backends/flatfile/frame.js';
import { scanSegment } from '../../src/backends/flatfile/segment-scan.js';
import { openStore } from '../../src/engine/open-store.js';
import type { RecordedEvent } from '../../src/kernel/types.js';
import { STREAMS, type Reference, assertExactPrefix, assertSameEvents, buildStore, readBack, sameOutcome, steps } from '../support/scenario.js';
import { FolderSnapshot, filesUnder, withTempDir } from '../support/temp.js';

/**
 * A log cut short at any byte (a write torn by a crash, unflushed data lost on
 * power failure, a file truncated by a full disk) reopens to an exact prefix
 * of what was appended: same ids, data, versions and positions, the feed and
 * the streams agreeing, and the same result on a second opening. Every byte
 * offset of one stream segment file, and of the feed segment file, is tried on
 * a fresh copy of the data folder (FolderSnapshot.restore: the same as
 * fs.cpSync of the intact folder, but rewriting only what differs, which
 * keeps a few thousand copies per run affordable).
 */

const MAX = 64 * 1024 * 1024;

interface Frame {
  offset: number;
  end: number;
  firstPosition: number;
}

function framesOf(file: string, magic: number): Frame[] {
  const scan = scanSegment(fs.readFileSync(file), file, magic, MAX);
  assert.is(scan.tornTail, undefined, `${file} of the intact store has a torn tail`);
  return scan.frames.map((f) => ({ offset: f.offset, end: f.offset + frameLength(f.header.storedLength), firstPosition: f.header.firstPosition }));
}

/**
 * Puts the intact folder back in `work` (a fresh copy), cuts `rel` at `offset`,
 * reads it back twice, and checks that the first reading is exactly the first
 * `head` events and that the second reading is the same.
 */
async function cutAndCheck(orig: FolderSnapshot, work: string, rel: string, offset: number, ref: Reference, head: number, what: string): Promise<void> {
  orig.restore(work);
  fs.truncateSync(path.join(work, rel), offset);
  const first = await readBack(work);
  assertExactPrefix(first, ref, head, what);
  const second = await readBack(work);
  const d = sameOutcome(first, second);
  assert.not.ok(d, `${what}: reopening twice gave different results\n${d}`);
}

/** After recovery to `head` the store goes on from there: the next append gets the next version and position. */
async function appendAfterRecovery(work: string, ref: Reference, head: number, streamIndex: number, what: string): Promise<void> {
  const streamId = STREAMS[streamIndex % STREAMS.length]!;
  const store = await openStore({ dir: work, durability: 'none' });
  try {
    const version = ref.streams[streamId]!.filter((e) => e.position <= head).length;
    const r = await store.append(streamId, { type: 'after', data: head });
    assert.equal(
      { firstVersion: r.firstVersion, firstPosition: r.firstPosition },
      { firstVersion: version + 1, firstPosition: head + 1 },
      `${what}: the first append after recovery`,
    );
    const feed: RecordedEvent[] = [];
    for await (const e of store.streamAll()) feed.push(e);
    assertSameEvents(feed.slice(0, head), ref.feed.slice(0, head), `${what}: feed after one more append`);
    assert.is(feed.length, head + 1, `${what}: feed length after one more append`);
    assert.is(feed[head]!.streamId, streamId);
    const stream = await store.readStream(streamId);
    assert.is(stream.length, version + 1, `${what}: ${streamId} after one more append`);
    assert.is(stream.at(-1)!.id, feed[head]!.id);
  } finally {
    await store.close();
  }
}

/**
 * Appending after recovery costs an fsync or two, so it is tried at the offsets
 * where the recovery differs most: a frame's first, second and last byte.
 */
function nearBoundary(frames: readonly Frame[], offset: number): boolean {
  return frames.some((f) => offset === f.offset || offset === f.offset + 1 || offset === f.end - 1);
}

const truncation = suite('property: truncating a log at every byte offset');

truncation('cutting the feed segment at any byte reopens to exactly the events of its whole frames, the same on every reopening, and appends go on from there', async () => {
  await fc.assert(
    fc.asyncProperty(steps(4), async (plan) =>
      withTempDir('trunc-feed', async (tmp) => {
        const orig = path.join(tmp, 'orig');
        const work = path.join(tmp, 'work');
        const ref = await buildStore(orig, plan);
        const feedFiles = filesUnder(orig).filter((f) => f.endsWith('.feed'));
        assert.is(feedFiles.length, 1);
        const rel = path.relative(orig, feedFiles[0]!);
        // As for stream cuts below: only what never reached the disk can be lost, so the record of what the
        // closed store had synced goes (cutting the feed below `synced` is damage: CORRUPT, see the damage property).
        fs.rmSync(path.join(orig, 'synced'), { force: true });
        const snapshot = new FolderSnapshot(orig);
        const frames = framesOf(feedFiles[0]!, FEED_MAGIC);
        const size = fs.statSync(feedFiles[0]!).size;
        for (let offset = 0; offset < size; offset++) {
          const what = `feed cut at byte ${offset} of ${size}`;
          const head = Math.min(...frames.filter((f) => f.end > offset).map((f) => f.firstPosition)) - 1;
          await cutAndCheck(snapshot, work, rel, offset, ref, head, what);
          if (nearBoundary(frames, offset)) await appendAfterRecovery(work, ref, head, offset, what);
        }
      }),
    ),
    { numRuns: 6 },
  );
});

/**
 * Cuts one stream segment at every offset of the chosen kind. A cut loses the
 * frames it runs into and every frame after it in that file; what must survive
 * is everything before the first lost event: an exact prefix of the feed.
 *
 * - `tail`: every lost frame belongs to the last commit group (what a crash
 *   can leave behind, whatever the durability mode).
 * - `earlier`: frames of an earlier commit group are lost too (what a power
 *   failure can leave in `batched` or `none` mode, where earlier groups were
 *   acknowledged before their fsync). Data the store had synced and recorded
 *   in its `synced` file cannot be lost that way; cutting it afterwards is
 *   damage, which the damage property covers (prefix or CORRUPT).
 */
async function streamCuts(kind: 'tail' | 'earlier', numRuns: number, options: { segmentBytes?: number } = {}): Promise<void> {
  await fc.assert(
    fc.asyncProperty(steps(4), fc.nat(), async (plan, pick) =>
      withTempDir(`trunc-stream-${kind}`, async (tmp) => {
        const orig = path.join(tmp, 'orig');
        const work = path.join(tmp, 'work');
        const ref = await buildStore(orig, plan, options);
        const lastGroup = ref.groupStarts.at(-1)!;
        const candidates = filesUnder(orig)
          .filter((f) => f.endsWith('.seg'))
          .map((file) => ({ file, frames: framesOf(file, STREAM_MAGIC) }))
          .filter(({ frames }) => (kind === 'tail' ? frames.some((f) => f.firstPosition >= lastGroup) : frames.some((f) => f.firstPosition < lastGroup)));
        fc.pre(candidates.length > 0);
        const { file, frames } = candidates[pick % candidates.length]!;
        const rel = path.relative(orig, file);
        // Frames can only be lost if they never reached the disk: a crash or power failure before the
        // 'none' store was closed (closing syncs and records it in `synced`). Without that record, as
        // then, recovery checks them. (Cutting synced data is damage: see the damage property.)
        fs.rmSync(path.join(orig, 'synced'), { force: true });
        const snapshot = new FolderSnapshot(orig);
        const streamId = path.basename(path.dirname(file));
        const size = fs.statSync(file).size;
        for (let offset = 0; offset < size; offset++) {
          const firstLost = Math.min(...frames.filter((f) => f.end > offset).map((f) => f.firstPosition));
          if ((firstLost >= lastGroup) !== (kind === 'tail')) continue;
          const what = `${streamId}'s segment cut at byte ${offset} of ${size} (first lost position ${firstLost}, last commit group from ${lastGroup})`;
          await cutAndCheck(snapshot, work, rel, offset, ref, firstLost - 1, what);
          if (nearBoundary(frames, offset)) await appendAfterRecovery(work, ref, firstLost - 1, offset, what);
        }
      }),
    ),
    { numRuns },
  );
}

truncation('cutting a stream segment at any byte of its last commit group reopens to exactly the events before the cut, the same on every reopening, and appends go on from there', async () => {
  await streamCuts('tail', 8);
});

truncation('the same holds for the last segment file of a stream that spans several small ones', async () => {
  await streamCuts('tail', 6, { segmentBytes: 150 });
});

truncation('cutting a stream segment at any byte of an earlier, never-synced commit group reopens to exactly the events before the cut (no CORRUPT feed, no silent loss on a later reopening)', async () => {
  await streamCuts('earlier', 6);
});

truncation.run();
