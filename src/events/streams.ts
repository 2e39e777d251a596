/**
 * Which stream an entity's events live in. Each user and each session has its
 * own stream; the prefix keeps the kinds apart (a session may share an id with
 * a user) and leaves room for later kinds (panels, personas).
 */
export const STREAM_PREFIX = { user: 'u-', session: 's-' } as const;
export type StreamKind = keyof typeof STREAM_PREFIX;

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
