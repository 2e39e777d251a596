import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import type { AppendResult, ExpectedVersion } from '../kernel/types.js';
import type { PreparedEvent } from './backend.js';

/** The rules every backend applies inside its atomic append, so they cannot drift apart. */

export function checkExpectedVersion(streamId: string, expected: ExpectedVersion, actual: number): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && actual === 0) ||
    (expected === 'exists' && actual > 0) ||
    expected === actual;
  if (!ok) {
    throw new FfcdbError(
      ErrorCode.CONFLICT,
      `stream ${streamId} is at version ${actual}, the append expected ${typeof expected === 'number' ? `version ${expected}` : expected}`,
      { streamId, expected, actual },
    );
  }
}

/** Any append to a purged stream: its id stays taken, so that nobody reads a new stream as the erased one. */
export function purgedConflict(streamId: string): FfcdbError {
  return new FfcdbError(ErrorCode.CONFLICT, `stream ${streamId} was purged; its id cannot be reused`, { streamId, purged: true });
}

/** Purging a stream that was never written. */
export function purgeNotFound(streamId: string): FfcdbError {
  return new FfcdbError(ErrorCode.NOT_FOUND, `stream ${streamId} does not exist, so there is nothing to purge`, { streamId });
}

export interface StoredRef {
  version: number;
  position: number;
}

/**
 * Retry-safe appends: when every caller-supplied id is already in the stream,
 * the append is a retry and gets the original result. When only some are, the
 * batch cannot be both new and old, so it is refused.
 */
export function findRetry(
  streamId: string,
  events: readonly PreparedEvent[],
  lookup: (id: string) => StoredRef | undefined,
): AppendResult | undefined {
  const supplied = events.filter((e) => e.idSupplied);
  if (supplied.length === 0) return undefined;
  const found = supplied.map((e) => lookup(e.id));
  const hits = found.filter((f): f is StoredRef => f !== undefined);
  if (hits.length === 0) return undefined;
  if (hits.length !== events.length) {
    const known = supplied.filter((_, i) => found[i] !== undefined).map((e) => e.id);
    throw new FfcdbError(
      ErrorCode.DUPLICATE_EVENT,
      `stream ${streamId} already holds event id(s) ${known.slice(0, 5).join(', ')} but not the rest of this append; a retry must resend the same batch`,
      { streamId, ids: known },
    );
  }
  const versions = hits.map((h) => h.version);
  const positions = hits.map((h) => h.position);
  return {
    streamId,
    firstVersion: Math.min(...versions),
    lastVersion: Math.max(...versions),
    firstPosition: Math.min(...positions),
    lastPosition: Math.max(...positions),
    duplicate: true,
  };
}
