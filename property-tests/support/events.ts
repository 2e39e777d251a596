import fc from 'fast-check';
import type { EventType } from '../../src/events/catalog.js';
import type { MessageAddedV1 } from '../../src/events/messages.js';
import type { JsonValue } from '../../src/kernel/types.js';
import { eventId, jsonValue, streamId, text } from './json.js';

/** Arbitraries for valid payloads of every event type in the catalog, at the current schema version. */

const label = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((s) => !/\p{Cc}/u.test(s));
const key = fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__');
const object = (omit: readonly string[] = []) =>
  fc.dictionary(key.filter((k) => !omit.includes(k)), jsonValue({ maxDepth: 2, maxKeys: 4 }), { maxKeys: 4, noNullPrototype: true });
const role = fc.oneof(fc.constantFrom('system', 'user', 'assistant', 'tool'), fc.stringMatching(/^[a-z][a-z0-9_-]{0,31}$/));
const mediaType = fc.constantFrom('image/png', 'application/pdf', 'text/plain', 'application/vnd.ms-excel');
const url = fc.webUrl().filter((u) => /^https?:\/\/\S+$/i.test(u));
const tokens = fc.nat();
const tags = fc.uniqueArray(label.filter((t) => t.length <= 64), { maxLength: 6 });
/** Any text a person types, tabs and line breaks included, empty allowed. */
const title = fc.string({ unit: 'grapheme', maxLength: 30 }).filter((s) => !/[^\P{Cc}\t\n\r]/u.test(s));
/** A history import's time: 1970 to 9999, ms since the epoch. */
const createdAt = fc.integer({ min: 0, max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) });

const reference = (type: 'image' | 'file') =>
  fc
    .tuple(
      fc.oneof(
        fc.record({ documentId: streamId }),
        fc.record({ url }),
        fc.record({ documentId: streamId, inline: fc.oneof(fc.constant({ as: 'bytes' }), fc.record({ as: fc.constant('url'), prefix: fc.constantFrom('data:;base64,', 'data:image/png;base64,', 'data:text/plain;charset=utf-8;base64,') })) }),
      ),
      fc.record({ mediaType, name: label }, { requiredKeys: [] }),
    )
    .map(([source, rest]) => ({ type, ...source, ...rest }));

const part = fc.oneof(
  fc.record({ type: fc.constant('text'), text: text(40) }),
  reference('image'),
  reference('file'),
  fc.record({ type: fc.constant('tool_call'), id: eventId, name: fc.stringMatching(/^[A-Za-z0-9_.:/-]{1,20}$/), arguments: jsonValue() }),
  fc.record({ type: fc.constant('tool_result'), toolCallId: eventId, content: jsonValue(), isError: fc.boolean() }, { requiredKeys: ['type', 'toolCallId', 'content'] }),
  fc.record({ type: fc.constant('reasoning'), text: text(40) }),
);

const messageMetadata = fc
  .tuple(
    fc.record(
      {
        model: label,
        usage: fc.record({ inputTokens: tokens, outputTokens: tokens, reasoningTokens: tokens, cachedTokens: tokens, totalTokens: tokens }, { requiredKeys: [] }),
        finishReason: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,15}$/),
        entities: fc.array(fc.record({ type: label.filter((t) => t.length <= 32), text: label }), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    ),
    object(['model', 'usage', 'finishReason', 'entities']),
  )
  .map(([known, free]) => ({ ...free, ...known }));

const attachments = fc.array(fc.record({ documentId: streamId, name: label, mediaType }, { requiredKeys: ['documentId'] }), { maxLength: 3 });
const content = fc.oneof(text(60), fc.array(part, { maxLength: 5 }));
const profile = { displayName: label, email: fc.emailAddress(), profile: object(), preferences: object() };

export const payloads: { readonly [K in EventType]: fc.Arbitrary<JsonValue> } = {
  'user.created': fc.record({ userId: streamId, ...profile }, { requiredKeys: ['userId'] }),
  'user.updated': fc.record({ userId: streamId, ...profile }, { requiredKeys: ['userId', 'displayName'] }),
  'session.created': fc.record({ userId: streamId, title, tags, metadata: object(), createdAt }, { requiredKeys: ['userId', 'title'] }),
  'session.renamed': fc.record({ title }),
  'session.tagged': fc.record({ tags }),
  'session.archived': fc.record({ archived: fc.boolean() }),
  'session.deleted': fc.record({ purge: fc.boolean() }, { requiredKeys: [] }),
  'session.restored': fc.constant({}),
  'session.updated': fc.record({ title: label, tags, metadata: object() }, { requiredKeys: ['title'] }),
  'message.added': fc.record({ messageId: eventId, role, content, attachments, metadata: messageMetadata, createdAt }, { requiredKeys: ['messageId', 'role', 'content'] }),
  'message.edited': fc.record({ messageId: eventId, content, attachments, metadata: messageMetadata, extra: fc.oneof(object(), fc.constant(null)) }, { requiredKeys: ['messageId', 'content'] }),
  'message.deleted': fc.record({ messageId: eventId }),
  'message.truncated': fc
    .tuple(fc.uniqueArray(eventId, { minLength: 2, maxLength: 5 }), fc.boolean())
    .map(([[after, ...messageIds], clear]): JsonValue => (clear ? { messageIds } : { after: after!, messageIds })),
  'document.uploaded': fc.record(
    { documentId: streamId, name: label, mediaType, size: fc.maxSafeNat(), sha256: fc.stringMatching(/^[0-9a-f]{64}$/), metadata: object(), createdAt },
    { requiredKeys: ['documentId', 'mediaType', 'size', 'sha256'] },
  ),
  'document.analysed': fc.record(
    { documentId: streamId, analysisVersion: fc.integer({ min: 1, max: 1000 }), summary: text(60), text: text(200), entities: fc.array(fc.record({ type: label, text: label }), { maxLength: 4 }), data: jsonValue() },
    { requiredKeys: ['documentId', 'analysisVersion', 'summary'] },
  ),
  'document.deleted': fc.record({ documentId: streamId }),
  'context.set': fc.record({ context: object() }),
  'context.patched': fc.record({ patch: object() }),
  'context.snapshotted': fc.record({ name: label }),
};

/** message.added at schema version 1: plain-text content, the model beside it. */
export const messageAddedV1: fc.Arbitrary<MessageAddedV1> = fc.record({ messageId: eventId, role, content: text(60), model: label }, { requiredKeys: ['messageId', 'role', 'content'] });
