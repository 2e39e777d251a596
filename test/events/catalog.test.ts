import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/kernel/errors.js';
import type { RecordedEvent } from '../../src/kernel/types.js';
import { EVENT_TYPES, currentVersion, upcast, validateEvent } from '../../src/events/catalog.js';
import { contextEvents } from '../../src/events/context.js';
import { documentEvents } from '../../src/events/documents.js';
import { messageEvents } from '../../src/events/messages.js';
import { sessionEvents } from '../../src/events/sessions.js';
import { userEvents } from '../../src/events/users.js';
import { flatfileSuite, thrown } from '../flatfile/unit-helpers.js';
import { fails } from './fails.js';

const test = flatfileSuite('events: catalog');

const recorded = (type: string, schemaVersion: number, data: RecordedEvent['data']): RecordedEvent => ({
  id: 'e1', streamId: 's1', version: 1, position: 1, type, schemaVersion, timestamp: 0, data, metadata: {},
});

test('the catalog holds every user, session, message, document and context event', () => {
  assert.equal([...EVENT_TYPES].sort(), [
    'context.patched', 'context.set', 'context.snapshotted',
    'document.analysed', 'document.deleted', 'document.uploaded',
    'message.added', 'message.deleted', 'message.edited', 'message.truncated',
    'session.archived', 'session.created', 'session.deleted', 'session.renamed', 'session.restored', 'session.tagged', 'session.updated',
    'user.created', 'user.updated',
  ]);
  assert.is(currentVersion('message.added'), 4);
  assert.is(currentVersion('message.edited'), 3);
  assert.is(currentVersion('session.created'), 2);
  assert.is(currentVersion('session.renamed'), 2);
  assert.is(currentVersion('document.uploaded'), 2);
});

test('validateEvent checks a payload against its type and version, naming the field', () => {
  validateEvent('session.renamed', 1, { title: 'x' });
  validateEvent('message.added', 2, { messageId: 'm', role: 'user', content: [{ type: 'text', text: 'hi' }] });
  fails(() => validateEvent('message.added', 2, { messageId: 'm', role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }, { type: 'x' }] }), 'data.content[2].type');
});

test('validateEvent checks an older version against the schema of its time', () => {
  validateEvent('message.added', 1, { messageId: 'm', role: 'user', content: 'hi', model: 'm1' });
  fails(() => validateEvent('message.added', 1, { messageId: 'm', role: 'user', content: [] }), 'data.content');
  fails(() => validateEvent('message.added', 2, { messageId: 'm', role: 'user', content: 'hi', model: 'm1' }), 'data.model');
});

test('unknown types are INVALID_ARGUMENT naming the type', () => {
  fails(() => validateEvent('message.exploded', 1, {}), 'type');
  fails(() => upcast(recorded('chat/Unknown', 1, {})), 'type');
});

test('a schema version newer than the code knows is UNSUPPORTED_FORMAT with the versions in details', () => {
  for (const fn of [() => validateEvent('message.added', 5, {}), () => upcast(recorded('session.created', 3, {}))]) {
    const err = thrown(fn);
    assert.is(err.code, ErrorCode.UNSUPPORTED_FORMAT);
    assert.is(err.details.field, 'schemaVersion');
  }
  assert.equal(thrown(() => upcast(recorded('message.added', 5, {}))).details, { field: 'schemaVersion', type: 'message.added', schemaVersion: 5, current: 4 });
});

test('schema versions below 1 or not integers are INVALID_ARGUMENT', () => {
  fails(() => validateEvent('session.renamed', 0, { title: 'x' }), 'schemaVersion');
  fails(() => upcast(recorded('session.renamed', 1.5, { title: 'x' })), 'schemaVersion');
});

test('the whole payload is bounded at 32 MiB encoded', () => {
  const part = { type: 'text', text: '\u4e00'.repeat(1_000_000) };
  const message = (parts: number) => ({ messageId: 'm', role: 'user', content: Array.from({ length: parts }, () => part) });
  validateEvent('message.added', 2, message(10));
  fails(() => validateEvent('message.added', 2, message(12)), 'data');
});

test('upcast turns a message.added v1 into v4 (through v2 and v3), keeping everything else of the event', () => {
  const old = recorded('message.added', 1, { messageId: 'm', role: 'assistant', content: 'hi', model: 'gpt-3.5-turbo' });
  const now = upcast(old);
  assert.equal(now, { ...old, schemaVersion: 4, data: { messageId: 'm', role: 'assistant', content: 'hi', metadata: { model: 'gpt-3.5-turbo' } } });
  assert.is(old.schemaVersion, 1, 'the recorded event is not changed');
  validateEvent(now.type, now.schemaVersion, now.data);
});

test('upcast returns an event already at the current version as it is', () => {
  const e = recorded('session.renamed', 2, { title: 'x' });
  assert.is(upcast(e), e);
});

test('every type has a validator and an upcaster for each version before its current one', () => {
  const definitions = { ...userEvents, ...sessionEvents, ...messageEvents, ...documentEvents, ...contextEvents };
  for (const [type, def] of Object.entries(definitions)) {
    assert.is(def.version, currentVersion(type));
    for (let v = 1; v < def.version; v++) {
      assert.type(def.history?.[v]?.validate, 'function', `${type} v${v}`);
      assert.type(def.history?.[v]?.upcast, 'function', `${type} v${v}`);
    }
  }
});

test.run();
