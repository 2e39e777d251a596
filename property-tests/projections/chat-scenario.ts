// Random chat event sequences for the projection properties (not a test file itself).
import fc from 'fast-check';
import { type EventType, currentVersion, validateEvent } from '../../src/events/catalog.js';
import { sessionStream, userStream } from '../../src/events/streams.js';
import type { JsonValue, NewEvent } from '../../src/kernel/types.js';
import { isFfcdbError } from '../../src/kernel/errors.js';
import { messageAddedV1, payloads } from '../support/events.js';

/**
 * Ids come from small pools, so that events name each other: edits and deletes
 * hit existing messages as well as unknown ones, documents share blobs, users
 * own several sessions, and ids come back after a delete.
 */
export const USERS = ['u1', 'u2', 'u3'] as const;
export const SESSIONS = ['s1', 's2', 's3', 's4'] as const;
const MESSAGES = ['m1', 'm2', 'm3'];
/**
 * Document ids name their home stream (`<stream>-d1`, see `homed`): the chat
 * API refuses an id another stream uses, and the documents projection's
 * first-upload-wins rule is not stable under purges when two streams claim one
 * id (a known issue, see the report on issue 3). Deletes and analyses may
 * still name another stream's documents (CROSS), which must be ignored.
 */
const DOCUMENTS = ['d1', 'd2', 'd3'];
const CROSS = ['s-s1-d1', 'u-u1-d1'];
const BLOBS = ['a'.repeat(64), 'b'.repeat(64)];

/** One append: events of one stream. */
export interface Append {
  kind: 'append';
  streamId: string;
  events: NewEvent[];
}

/** What a scenario does next. */
export type Step =
  | Append
  /** Let the incremental runner catch up by this many positions (up to the head). */
  | { kind: 'advance'; by: number }
  /** Close the incremental runner (saving snapshots) and open it again from them. */
  | { kind: 'reopen' }
  /**
   * Delete a session with purge: session.deleted, then the stream's events are
   * erased. `inline`: the runner applies the deletion before the purge, as the
   * chat API's own runner does; otherwise it lags, as another process's may.
   */
  | { kind: 'purge'; sessionId: string; inline: boolean };

const pick = <T>(values: readonly T[]) => fc.constantFrom(...values);

/** A payload of `type` with some of its fields set. */
function payload(type: EventType, set: fc.Arbitrary<Record<string, JsonValue>>): fc.Arbitrary<JsonValue> {
  return fc.tuple(payloads[type], set).map(([data, fields]) => ({ ...(data as Record<string, JsonValue>), ...fields }));
}

const event = (type: EventType, set: fc.Arbitrary<Record<string, JsonValue>> = fc.constant({})): fc.Arbitrary<NewEvent> =>
  payload(type, set).map((data) => ({ type, data, schemaVersion: currentVersion(type) }));

const inSession = (events: fc.Arbitrary<NewEvent[]>): fc.Arbitrary<Append> =>
  fc.tuple(pick(SESSIONS), events).map(([id, evs]) => ({ kind: 'append', streamId: sessionStream(id), events: evs }));

const inUser = (events: fc.Arbitrary<NewEvent[]>): fc.Arbitrary<Append> =>
  fc.tuple(pick(USERS), events).map(([id, evs]) => ({ kind: 'append', streamId: userStream(id), events: evs }));

const some = (e: fc.Arbitrary<NewEvent>) => fc.array(e, { minLength: 1, maxLength: 3 });

const sessionEvent: fc.Arbitrary<NewEvent> = fc.oneof(
  { weight: 3, arbitrary: event('session.created', fc.record({ userId: pick(USERS) })) },
  event('session.renamed'),
  event('session.tagged'),
  event('session.archived'),
  event('session.deleted', fc.constant({})),
  { weight: 2, arbitrary: event('session.restored') },
  { weight: 4, arbitrary: event('message.added', fc.record({ messageId: pick(MESSAGES) })) },
  // Schema version 1, upcast on every read.
  messageAddedV1.map((v1) => ({ type: 'message.added', schemaVersion: 1, data: { ...v1, messageId: 'm1' } as unknown as JsonValue })),
  { weight: 4, arbitrary: event('message.edited', fc.record({ messageId: pick([...MESSAGES, 'unknown']) })) },
  { weight: 3, arbitrary: event('message.deleted', fc.record({ messageId: pick([...MESSAGES, 'unknown']) })) },
  // Deletes several at once: live, deleted and unknown ids alike (a truncate or clear).
  event(
    'message.truncated',
    fc.uniqueArray(pick([...MESSAGES, 'unknown']), { minLength: 1, maxLength: 4 }).map((messageIds) => ({ messageIds })),
  ),
  event('session.updated'),
  { weight: 2, arbitrary: event('document.uploaded', fc.record({ documentId: pick(DOCUMENTS), sha256: pick(BLOBS) })) },
  event('document.analysed', fc.record({ documentId: pick([...DOCUMENTS, ...CROSS, 'unknown']) })),
  event('document.deleted', fc.record({ documentId: pick([...DOCUMENTS, ...CROSS, 'unknown']) })),
  { weight: 2, arbitrary: event('context.set') },
  { weight: 3, arbitrary: event('context.patched') },
  event('context.snapshotted', fc.record({ name: pick(['before', 'after']) })),
);

const userEvent = (userId: fc.Arbitrary<string>): fc.Arbitrary<NewEvent> =>
  fc.oneof(
    { weight: 2, arbitrary: event('user.created', fc.record({ userId })) },
    event('user.updated', fc.record({ userId })),
    event('document.uploaded', fc.record({ documentId: pick(DOCUMENTS), sha256: pick(BLOBS) })),
    event('document.analysed', fc.record({ documentId: pick([...DOCUMENTS, ...CROSS, 'unknown']) })),
    event('document.deleted', fc.record({ documentId: pick([...DOCUMENTS, ...CROSS, 'unknown']) })),
  );

const userAppend: fc.Arbitrary<Append> = pick(USERS).chain((id) =>
  // Mostly the stream's own user id; sometimes another one, which the users projection must ignore.
  some(userEvent(fc.oneof({ weight: 5, arbitrary: fc.constant(id) }, pick(USERS)))).map((events) => ({ kind: 'append' as const, streamId: userStream(id), events })),
);

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 20, arbitrary: inSession(some(sessionEvent)) },
  { weight: 6, arbitrary: userAppend },
  { weight: 2, arbitrary: inUser(some(event('user.created'))) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('advance' as const), by: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('purge' as const), sessionId: pick(SESSIONS), inline: fc.boolean() }) },
);

const opener = event('session.created', fc.record({ userId: pick(USERS) }));

/**
 * Steps, where a session stream's first append starts with its session.created
 * most of the time (a projection ignores a session whose stream starts with
 * anything else, so without this few sessions would come to exist).
 */
export const scenario = (maxSteps: number): fc.Arbitrary<Step[]> =>
  fc.array(fc.tuple(step, opener, fc.integer({ min: 0, max: 9 })), { minLength: 1, maxLength: maxSteps, size: 'max' }).map((items) => {
    const started = new Set<string>();
    return items.map(([step, created, dice]) => {
      if (step.kind !== 'append') return step;
      const s = homed(step);
      if (!s.streamId.startsWith('s-') || started.has(s.streamId)) return s;
      started.add(s.streamId);
      return dice < 9 && s.events[0]!.type !== 'session.created' ? { ...s, events: [created, ...s.events] } : s;
    });
  });

/** The append with its pool document ids made its stream's own. */
function homed(s: Append): Append {
  const events = s.events.map((e) => {
    const data = e.data as { documentId?: string };
    if (!e.type.startsWith('document.') || !DOCUMENTS.includes(data.documentId!)) return e;
    return { ...e, data: { ...data, documentId: `${s.streamId}-${data.documentId}` } as JsonValue };
  });
  return { ...s, events };
}

/** Every generated event is a valid catalog event: the property is about valid sequences. */
export function assertValid(events: readonly NewEvent[]): void {
  for (const e of events) validateEvent(e.type, e.schemaVersion ?? 1, e.data);
}

/** Appending to a purged session is refused (CONFLICT, purged): the chat API would refuse it too. A scenario step that does so is skipped. */
export function ignorePurged(err: unknown): void {
  if (isFfcdbError(err) && err.details.purged === true) return;
  throw err;
}
