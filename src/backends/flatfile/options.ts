import type { DurabilityMode } from '../../kernel/types.js';

export interface FlatfileOptions {
  /** The data folder; created if missing. */
  dir: string;
  /** `always` (default): an append resolves after fsync, concurrent appends share one (group commit). `batched`: fsync at most every `batchIntervalMs`. `none`: the OS decides. */
  durability?: DurabilityMode;
  /** For `batched`: the longest time between fsyncs, in ms (default 50). */
  batchIntervalMs?: number;
  /** A segment file is closed for appends once it reaches this size (default 8 MiB). */
  segmentBytes?: number;
  /** A writer lock whose holder stopped refreshing it for this long is taken over (default 10000 ms, at least 2000). */
  lockStaleMs?: number;
  /** How often a live subscriber looks for other processes' commits (default 25 ms). */
  pollMs?: number;
  /** Most segment files kept open at once (default 2048); a replay touching more streams reopens them. */
  maxOpenFiles?: number;
  /** Largest frame (one append's payload) accepted on write and on read (default 64 MiB). */
  maxFrameBytes?: number;
  /**
   * Open an existing store to read only: nothing in the folder is created, changed or locked (it works on a
   * full disk and a read-only mount); appends and purges fail with READ_ONLY. Recovery runs in memory only:
   * a torn or unfinished tail is left as it is and not read. Other processes' commits are followed. Default false.
   */
  readOnly?: boolean;
}
