import { CommitJournal } from './commit-journal.js';
import { replayJournals } from './journal-replay.js';
import type { FeedEntry } from './feed.js';
import { STREAM_MAGIC, frameIntact, frameLength, parseHeader } from './frame.js';
import type { Purger } from './purger.js';
import type { StoreState } from './store-state.js';
import { readSynced } from './store-files.js';
import type { Syncer } from './syncer.js';

/**
 * Opening under the lock: replay the commit journals, cut a torn feed tail,
 * then check every feed entry above the last position known to be on disk (and
 * the last commit group): its stream frame must be whole. The first one that is
 * not (power failed before its fsync) was never durable, and neither is
 * anything after it in a consistent history: the feed and the streams are cut
 * back to just before it, an exact prefix. Then purges a purger left unfinished
 * are finished.
 */
export async function recover(s: StoreState, sync: Syncer, purger: Purger): Promise<void> {
  const synced = readSynced(s.layout.root);
  replayJournals(s.layout.root, synced, s.monitor);
  s.tombstones.load(s.monitor);
  const bad = firstUnwritten(s, synced);
  if (bad) cutFrom(s, bad);
  await sync.through(s.feed.head);
  // Each purger finishes the purges before its own, so only the last one can have been cut short.
  s.purgesFinished = Math.max(0, s.tombstones.count - 1);
  await purger.finishPurges();
  CommitJournal.removeDead(s.layout.root);
}

/**
 * Opening read-only: the same checks, in memory only. Commit journals are not replayed (after a power
 * failure the view may so end below where a writer's recovery will), torn tails are not cut (the feed
 * and the tombstones stop before them), and a commit whose stream frame is not whole ends the view
 * before it instead of being cut. Unfinished purges are left: their tombstones already hide the stream.
 */
export function recoverReadOnly(s: StoreState): void {
  const synced = readSynced(s.layout.root);
  s.tombstones.load(s.monitor);
  const bad = firstUnwritten(s, synced);
  if (!bad) return;
  const file = s.layout.feedSegmentPath(bad.feedSegment);
  s.feed.holdBefore(bad);
  s.monitor.emit({ kind: 'tail-ignored', file, fromBytes: s.files.size(file), toBytes: bad.feedOffset, reason: unwrittenReason(bad) });
}

/**
 * Loads the feed and checks every entry above the synced position (and the last commit group): the first
 * whose stream frame is not whole, which recovery cuts from; undefined when all are.
 */
function firstUnwritten(s: StoreState, synced: number): FeedEntry | undefined {
  // The feed holds at least `synced` positions (else load raised CORRUPT).
  const lastGroup = s.feed.load(s.monitor, synced);
  s.feed.syncedThrough = Math.max(s.feed.syncedThrough, synced);
  // The last group is always checked too: it is cheap, and it catches a tail cut after the fact.
  const from = Math.min(s.feed.syncedThrough + 1, lastGroup[0]?.firstPosition ?? Number.POSITIVE_INFINITY);
  let bad: FeedEntry | undefined;
  for (const e of s.feed.entriesFrom(from)) {
    // A purged stream's frames are gone on purpose: nothing to cut.
    if (!s.tombstones.has(e.streamId) && !streamFrameWhole(s, e)) {
      // Read-only, no lock keeps purges out: one since the tombstones were read may have deleted the frame.
      if (s.files.readOnly) s.tombstones.refresh();
      if (s.tombstones.has(e.streamId)) continue;
      bad = e;
      break;
    }
  }
  // Below the synced position a bad frame is damage to data that was on disk: it is reported when
  // read (CORRUPT), never cut, and nothing after it is touched.
  return bad && bad.firstPosition <= s.feed.syncedThrough ? undefined : bad;
}

function unwrittenReason(bad: FeedEntry): string {
  return `the stream frame for position ${bad.firstPosition} never reached the disk`;
}

/** Cuts the feed at the entry `bad` and every stream back to before its frames of the entries cut. */
function cutFrom(s: StoreState, bad: FeedEntry): void {
  // Stream frames at or after the cut, found through the entries being cut, lowest offset per file.
  const cuts = new Map<string, number>();
  for (const e of s.feed.entriesFrom(bad.firstPosition)) {
    const file = s.layout.segmentPath(s.layout.streamDir(e.streamId), e.segment);
    cuts.set(file, Math.min(cuts.get(file) ?? e.offset, e.offset));
  }
  s.feed.cutAt(bad.feedSegment, bad.feedOffset);
  s.monitor.emit({
    kind: 'tail-truncated',
    file: s.layout.feedSegmentPath(bad.feedSegment),
    fromBytes: -1,
    toBytes: bad.feedOffset,
    reason: unwrittenReason(bad),
  });
  for (const [file, offset] of cuts) {
    if (s.files.size(file) > offset) {
      s.files.truncate(file, offset);
      s.monitor.emit({ kind: 'orphan-removed', file, offset, reason: 'its commit was cut from the feed' });
    }
  }
  s.feed.load(s.monitor, 0);
  s.feed.syncedThrough = Math.min(s.feed.syncedThrough, s.feed.head);
}

function streamFrameWhole(s: StoreState, e: FeedEntry): boolean {
  const file = s.layout.segmentPath(s.layout.streamDir(e.streamId), e.segment);
  if (s.files.size(file) < e.offset + e.length) return false;
  const buf = s.files.read(file, e.offset, e.length);
  const header = parseHeader(buf, 0, STREAM_MAGIC, s.options.maxFrameBytes);
  return (
    typeof header !== 'string' &&
    frameLength(header.storedLength) === e.length &&
    frameIntact(buf, 0, header) &&
    header.firstVersion === e.firstVersion &&
    header.firstPosition === e.firstPosition &&
    header.count === e.count
  );
}
