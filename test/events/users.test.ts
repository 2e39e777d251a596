import { ErrorCode } from '../../src/kernel/errors.js';
import { userEvents } from '../../src/events/users.js';
import type { EventDefinition } from '../../src/events/definition.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { fails } from './fails.js';

const created: EventDefinition<unknown> = userEvents['user.created'];
const updated: EventDefinition<unknown> = userEvents['user.updated'];
const test = flatfileSuite('events: users');

test('user.created accepts an id alone, or with display name, email, profile and preferences', () => {
  created.validate({ userId: 'u1' });
  created.validate({ userId: 'u1', displayName: 'Ada Lovelace', email: 'ada@example.org', profile: { city: 'London' }, preferences: { theme: 'dark' } });
});

test('user.created refuses a bad user id with INVALID_ID naming data.userId', () => {
  fails(() => created.validate({ userId: 'x'.repeat(513) }), 'data.userId', ErrorCode.INVALID_ID);
  fails(() => created.validate({}), 'data.userId', ErrorCode.INVALID_ID);
});

test('user.created names the bad field: empty or control-character names, malformed emails, non-object profiles', () => {
  fails(() => created.validate({ userId: 'u1', displayName: '' }), 'data.displayName');
  fails(() => created.validate({ userId: 'u1', displayName: 'a\nb' }), 'data.displayName');
  fails(() => created.validate({ userId: 'u1', displayName: 'x'.repeat(257) }), 'data.displayName');
  fails(() => created.validate({ userId: 'u1', email: 'not an email' }), 'data.email');
  fails(() => created.validate({ userId: 'u1', profile: ['a'] }), 'data.profile');
  fails(() => created.validate({ userId: 'u1', preferences: { big: 'x'.repeat(70_000) } }), 'data.preferences');
});

test('user payloads refuse unknown fields, undefined values and non-objects', () => {
  fails(() => created.validate({ userId: 'u1', nickname: 'a' }), 'data.nickname');
  fails(() => created.validate({ userId: 'u1', email: undefined }), 'data.email');
  fails(() => created.validate(null), 'data');
  fails(() => created.validate(['u1']), 'data');
});

test('user.updated must change at least one field, each checked like user.created', () => {
  updated.validate({ userId: 'u1', displayName: 'Ada' });
  updated.validate({ userId: 'u1', preferences: {} });
  fails(() => updated.validate({ userId: 'u1' }), 'data');
  fails(() => updated.validate({ userId: 'u1', email: 'x@' }), 'data.email');
});

test.run();
