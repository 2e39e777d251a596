import { ErrorCode, FfcdbError } from '../../kernel/errors.js';
import type { MonitorSink } from '../backend.js';
import type { CommitJournal } from './commit-journal.js';
import type { Feed } from './feed.js';
import type { FaultInjection } from '../../storage/durable-files.js';
import type { FileHandles } from './file-handles.js';
import type { Layout } from './layout.js';
import type { FlatfileOptions } from './options.js';
import type { StreamLog } from './stream-log.js';
import type { StreamStates } from './stream-states.js';
import type { Tombstones } from './tombstones.js';
import type { WriterLock } from '../../storage/writer-lock.js';

export type ResolvedOptions = Required<Omit<FlatfileOptions, 'faults'>> & { faults?: FaultInjection };

/** What the parts of an open flatfile store share: its files, the writer lock, and whether it still takes writes. */
export class StoreState {
  open = false;
  /** After a failed write or fsync nothing more is acknowledged: the page cache may not match the disk. */
  failure: FfcdbError | undefined;
  /** This opening's epoch, written into every frame. */
  epoch = 0;
  journal: CommitJournal | undefined;
  /** Folders with new entries not yet fsynced; the next checkpoint syncs them. */
  readonly newDirs = new Set<string>();
  pendingSync: Promise<void> | undefined;
  /** Purges (in the tombstone file's order) whose files this process knows to be deleted. */
  purgesFinished = 0;

  constructor(
    readonly options: ResolvedOptions,
    readonly monitor: MonitorSink,
    readonly layout: Layout,
    readonly files: FileHandles,
    readonly feed: Feed,
    readonly streams: StreamLog,
    readonly lock: WriterLock,
    readonly tombstones: Tombstones,
    readonly states: StreamStates,
  ) {}

  fail(err: FfcdbError): void {
    if (this.failure) return;
    this.failure = err;
    this.states.clear();
    this.monitor.emit({ kind: 'error', op: 'store', code: err.code, message: err.message });
  }

  assertStillOurs(file: string): void {
    if (!this.lock.stillOurs()) throw fencedError(file);
  }

  assertFeedUnchanged(file: string, expectedSize: number): void {
    this.assertStillOurs(file);
    const size = this.files.size(file);
    if (size !== expectedSize && size !== -1) {
      throw new FfcdbError(
        ErrorCode.LOCKED,
        `the feed changed under this writer (${file} is ${size} bytes, expected ${expectedSize}): another process took the lock over; this store is fenced`,
        { file },
      );
    }
  }
}

export function closedError(): FfcdbError {
  return new FfcdbError(ErrorCode.CLOSED, 'the store is closed');
}

export function fencedError(file: string): FfcdbError {
  return new FfcdbError(ErrorCode.LOCKED, 'another process took the writer lock over; this store is fenced and must be reopened', { file });
}

export function failedError(cause: FfcdbError): FfcdbError {
  return new FfcdbError(ErrorCode.FAILED, `the store stopped accepting writes after an earlier failure (${cause.code}: ${cause.message}); close and reopen it`, {
    cause: cause.code,
  });
}
