import { ErrorCode, FfcdbError } from '../kernel/errors.js';

/**
 * Which stream an entity's events live in. Each user and each session has its
 * own stream; the prefix keeps the kinds apart (a session may share an id with
 * a user) and leaves room for later kinds (panels, personas).
 */
export const STREAM_PREFIX = { user: 'u-', session: 's-' } as const;
export type StreamKind = keyof typeof STREAM_PREFIX;

/** Entity ids: the stream-id alphabet, short enough that prefix + id stays within the 128 a stream id may use. */
const ENTITY_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

export function assertEntityId(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || !ENTITY_ID.test(value)) {
    const got = typeof value === 'string' ? JSON.stringify(value.slice(0, 120)) : typeof value;
    throw new FfcdbError(ErrorCode.INVALID_ID, `${field} must be 1-100 characters of A-Z, a-z, 0-9, '_' or '-', starting with a letter or digit; got ${got}`, {
      field,
      value: typeof value === 'string' ? value.slice(0, 200) : typeof value,
    });
  }
}

export function userStream(userId: string): string {
  return STREAM_PREFIX.user + userId;
}

export function sessionStream(sessionId: string): string {
  return STREAM_PREFIX.session + sessionId;
}

/** The entity a stream belongs to, or undefined for streams the chat store did not write. */
export function streamEntity(streamId: string): { kind: StreamKind; id: string } | undefined {
  if (streamId.startsWith(STREAM_PREFIX.session)) return { kind: 'session', id: streamId.slice(STREAM_PREFIX.session.length) };
  if (streamId.startsWith(STREAM_PREFIX.user)) return { kind: 'user', id: streamId.slice(STREAM_PREFIX.user.length) };
  return undefined;
}
