/**
 * Every failure the library reports is an FfcdbError with one of these codes.
 * Callers branch on `code`; `details` carries the machine-readable context
 * (the file and byte offset of a corruption, the actual version of a conflict, ...).
 */
export const ErrorCode = {
  /** The stream's version did not match the append's expected version (details: { streamId, expected, actual }), or the stream was purged (details: { streamId, purged: true }). */
  CONFLICT: 'CONFLICT',
  /** A stream, event or file that was asked for does not exist. */
  NOT_FOUND: 'NOT_FOUND',
  /** An id (stream id, event id) is not in the allowed alphabet or length. details: { field, value } */
  INVALID_ID: 'INVALID_ID',
  /** An argument is malformed: wrong type, out of range, too large. details: { field } */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** An event id appears twice in one append, or only some of a batch's ids are already stored (a retry must resend the same batch). Retries are recognised by id alone. */
  DUPLICATE_EVENT: 'DUPLICATE_EVENT',
  /** Stored bytes failed their checksum or structure check and cannot be a torn tail. details: { file, offset } */
  CORRUPT: 'CORRUPT',
  /** A path in the data folder is a symlink, not a regular file, or would leave the data folder. details: { path } */
  UNSAFE_PATH: 'UNSAFE_PATH',
  /** The cross-process writer lock could not be taken in time, or was lost (fenced). */
  LOCKED: 'LOCKED',
  /** The store was closed. */
  CLOSED: 'CLOSED',
  /** A write or fsync failed. The store stops acknowledging writes until it is reopened. details: { file, syscall, errno } */
  IO: 'IO',
  /** The store failed earlier (I/O error or lost lock) and refuses writes until it is closed and reopened. */
  FAILED: 'FAILED',
  /** The data folder was written by an unknown format version or is not a store. */
  UNSUPPORTED_FORMAT: 'UNSUPPORTED_FORMAT',
  /** A write was asked of a store opened with `readOnly: true`; nothing was written. details: { op } */
  READ_ONLY: 'READ_ONLY',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class FfcdbError extends Error {
  override readonly name = 'FfcdbError';
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}

export function isFfcdbError(e: unknown, code?: ErrorCode): e is FfcdbError {
  return e instanceof FfcdbError && (code === undefined || e.code === code);
}

/** The refusal of a write (`op`, e.g. 'append') on a store opened read-only. */
export function readOnlyError(op: string): FfcdbError {
  return new FfcdbError(ErrorCode.READ_ONLY, `${op} refused: the store was opened read-only (readOnly: true) and writes nothing`, { op });
}

/** Wraps a Node.js system error from a file operation as an IO error naming the file; an IO error (from a helper the operation called) is kept, with the errno it names. */
export function ioError(err: unknown, file: string, syscall: string): FfcdbError {
  if (isFfcdbError(err, ErrorCode.IO)) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  return new FfcdbError(
    ErrorCode.IO,
    `${syscall} failed on ${file}: ${(err as Error | undefined)?.message ?? String(err)}`,
    { file, syscall, errno },
    { cause: err },
  );
}

/**
 * An error from file operations as an FfcdbError: an FfcdbError as it is, a Node.js system error as IO
 * naming its own path and call (else `file` and `syscall`). Anything else (a bug) is returned unchanged.
 */
export function asIoError(err: unknown, file: string, syscall: string): unknown {
  if (err instanceof FfcdbError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  if (typeof e?.code !== 'string' || typeof e.syscall !== 'string') return err;
  return ioError(err, e.path ?? file, e.syscall ?? syscall);
}
