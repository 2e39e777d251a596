import { contextEvents } from '../../src/events/context.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import type { EventDefinition } from '../../src/events/definition.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { fails } from './fails.js';

const set: EventDefinition<unknown> = contextEvents['context.set'];
const patched: EventDefinition<unknown> = contextEvents['context.patched'];
const snapshotted: EventDefinition<unknown> = contextEvents['context.snapshotted'];
const test = flatfileSuite('events: context');

test('context.set takes any JSON object the app shapes', () => {
  set.validate({ context: {} });
  set.validate({ context: { summary: 'Planning a trip', keyPoints: ['budget 2k'], entities: { people: ['Ada'] }, goals: null, raw: new Uint8Array([1]) } });
});

test('context.set refuses non-objects, non-JSON values and documents over 4 MiB, naming the field', () => {
  fails(() => set.validate({ context: [1, 2] }), 'data.context');
  fails(() => set.validate({ context: 'text' }), 'data.context');
  fails(() => set.validate({ context: { a: { b: () => 1 } } }), 'data.context.a.b');
  fails(() => set.validate({ context: { big: 'x'.repeat(4 * 1024 * 1024) } }), 'data.context');
  fails(() => set.validate({ document: {} }), 'data.document');
});

test('context.patched takes an RFC 7386 merge patch object (null removes a key)', () => {
  patched.validate({ patch: { summary: null, goals: { next: 'book hotel' } } });
  fails(() => patched.validate({ patch: null }), 'data.patch');
  fails(() => patched.validate({ patch: { s: 'a\uD800' } }), 'data.patch.s');
});

test('context.snapshotted names the snapshot with an id of the one rule', () => {
  snapshotted.validate({ name: 'before-refactor' });
  snapshotted.validate({ name: 'Before refactor: step 1/2 ✓' });
  snapshotted.validate({ name: 'x'.repeat(512) });
  fails(() => snapshotted.validate({ name: '' }), 'data.name', ErrorCode.INVALID_ID);
  fails(() => snapshotted.validate({ name: 'a\tb' }), 'data.name', ErrorCode.INVALID_ID);
  fails(() => snapshotted.validate({ name: 'x'.repeat(513) }), 'data.name', ErrorCode.INVALID_ID);
  fails(() => snapshotted.validate({}), 'data.name', ErrorCode.INVALID_ID);
});

test.run();
