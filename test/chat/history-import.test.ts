/**
 * History import (issue 11, deliverable 3): `createdAt` on messages, sessions
 * and documents makes them read, list and search as of that time while each
 * event keeps the time of its write; titles take any text a person types.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { openChatStore } from '../../src/chat/chat-store.js';
import { exportFolder } from '../../src/export/export-store.js';
import { importToFolder } from '../../src/export/import-store.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { chatSuites, failsCleanly, seedSession, seedUser, withTempDir } from './helpers.js';

const T2002 = Date.parse('2002-08-01T09:30:00Z');

chatSuites('chat: history import', (test, open, kind) => {
  test('a message added with createdAt reads as created then (revision 1 too), while its event keeps the time of the write', () =>
    open(async (chat) => {
      await seedSession(chat);
      const before = Date.now();
      const m = await chat.messages.add('s1', { role: 'user', content: 'old mail', createdAt: '2002-08-01T09:30:00Z' });
      assert.is(m.createdAt, T2002);
      assert.is(m.updatedAt, T2002);
      const read = await chat.messages.get('s1', m.messageId);
      assert.is(read.createdAt, T2002);
      const [event] = (await chat.events.readStream('s-s1', { fromVersion: 2, limit: 1 })) as { timestamp: number; data: Record<string, unknown> }[];
      assert.ok(event!.timestamp >= before, 'the event is stamped with the time of the write');
      assert.is(event!.data.createdAt, T2002, 'the payload holds createdAt as ms since the epoch');
      const edited = await chat.messages.edit('s1', m.messageId, { content: 'old mail, edited' });
      assert.is(edited.createdAt, T2002);
      assert.ok(edited.updatedAt >= before, 'an edit is dated by its write');
    }));

  test('createdAt is taken as an ISO string with a zone, a date alone (UTC), a Date, or ms since the epoch', () =>
    open(async (chat) => {
      await seedSession(chat);
      const given: [unknown, number][] = [
        ['2002-08-01T11:30:00+02:00', T2002],
        ['2002-08-01T11:30+0200', T2002],
        ['2002-08-01', Date.parse('2002-08-01T00:00:00Z')],
        [new Date(T2002), T2002],
        [T2002, T2002],
        ['1970-01-01T00:00:00.000Z', 0],
        ['9999-12-31T23:59:59.999Z', Date.UTC(9999, 11, 31, 23, 59, 59, 999)],
      ];
      for (const [createdAt, want] of given) {
        const m = await chat.messages.add('s1', { role: 'user', content: 'x', createdAt: createdAt as string });
        assert.is(m.createdAt, want, String(createdAt));
      }
    }));

  test('an invalid or absurd createdAt is refused naming the field, and nothing is written', () =>
    open(async (chat) => {
      await seedSession(chat);
      const bad: unknown[] = ['yesterday', '2002-08-01T09:30:00', '2002-02-30', '2002-13-01', '1969-12-31T23:59:59Z', '+010000-01-01T00:00:00Z', new Date(Number.NaN), -1, 1.5, 2.6e14, true, {}];
      for (const createdAt of bad) {
        await failsCleanly(chat, () => chat.messages.add('s1', { role: 'user', content: 'x', createdAt: createdAt as string }), ErrorCode.INVALID_ARGUMENT, 'message.createdAt');
      }
      await failsCleanly(chat, () => chat.messages.add('s1', [{ role: 'user', content: 'x' }, { role: 'user', content: 'y', createdAt: 'soon' }]), ErrorCode.INVALID_ARGUMENT, 'messages[1].createdAt');
      await failsCleanly(chat, () => chat.sessions.create({ userId: 'u1', title: 't', createdAt: '2002-08-01T25:00:00Z' }), ErrorCode.INVALID_ARGUMENT, 'session.createdAt');
      await failsCleanly(chat, () => chat.documents.upload({ sessionId: 's1', mediaType: 'text/plain', createdAt: 'later' }, Buffer.from('x')), ErrorCode.INVALID_ARGUMENT, 'document.createdAt');
    }));

  test('sessions created with createdAt list in that order and filter by it; their last message time is the message createdAt', () =>
    open(async (chat) => {
      await seedUser(chat);
      await chat.sessions.create({ userId: 'u1', sessionId: 'new', title: 'today' });
      await chat.sessions.create({ userId: 'u1', sessionId: 'y2002', title: 'August 2002', createdAt: '2002-08-01T09:30:00Z' });
      await chat.sessions.create({ userId: 'u1', sessionId: 'y1999', title: 'May 1999', createdAt: new Date('1999-05-01T00:00:00Z') });
      const all = await chat.sessions.list('u1');
      assert.equal(all.items.map((s) => s.sessionId), ['new', 'y2002', 'y1999'], 'newest first by createdAt');
      const s = all.items[1]!;
      assert.is(s.createdAt, T2002);
      assert.ok(s.updatedAt > T2002, 'updatedAt stays the time of the latest write');
      const in2002 = await chat.sessions.list('u1', { createdFrom: Date.parse('2002-01-01T00:00:00Z'), createdTo: new Date('2003-01-01T00:00:00Z') });
      assert.equal(in2002.items.map((x) => x.sessionId), ['y2002']);
      await chat.messages.add('y2002', [
        { role: 'user', content: 'first', createdAt: '2002-08-01T09:30:00Z' },
        { role: 'user', content: 'reply', createdAt: '2002-08-02T10:00:00Z' },
      ]);
      assert.is((await chat.sessions.get('y2002')).lastMessageAt, Date.parse('2002-08-02T10:00:00Z'));
    }));

  test('search time ranges use createdAt of messages, sessions and documents', () =>
    open(async (chat) => {
      await seedUser(chat);
      await chat.sessions.create({ userId: 'u1', sessionId: 'old', title: 'Lisbon hotels', createdAt: '2002-08-01T00:00:00Z' });
      await chat.messages.add('old', { role: 'user', content: 'a quiet hotel in Lisbon', createdAt: '2002-08-03T00:00:00Z' });
      await chat.documents.upload({ sessionId: 'old', name: 'lisbon.txt', mediaType: 'text/plain', createdAt: '2002-08-04T00:00:00Z' }, Buffer.from('lisbon'));
      await chat.messages.add('old', { role: 'user', content: 'Lisbon again, today' });
      const from = Date.parse('2002-08-01T00:00:00Z');
      const to = Date.parse('2002-09-01T00:00:00Z');
      const august = await chat.search('u1', 'lisbon', { from, to });
      assert.equal(august.items.map((h) => h.kind).sort(), ['document', 'message', 'session']);
      assert.ok(august.items.every((h) => h.timestamp >= from && h.timestamp < to));
      const later = await chat.search('u1', 'lisbon', { from: to });
      assert.equal(later.items.map((h) => h.kind), ['message']);
    }));

  test('a document uploaded with createdAt reads as uploaded then; a name is no longer required', () =>
    open(async (chat) => {
      await seedSession(chat);
      const doc = await chat.documents.upload({ sessionId: 's1', mediaType: 'text/plain', createdAt: '2002-08-01T09:30:00Z' }, Buffer.from('attachment'));
      assert.is(doc.uploadedAt, T2002);
      assert.is(doc.name, undefined);
      assert.not.ok('name' in (await chat.documents.get(doc.documentId)));
    }));

  test('titles take any text a person types: empty, tabs, line breaks, up to 1,000 characters', () =>
    open(async (chat) => {
      await seedUser(chat);
      for (const title of ['', 'Re:\tyour mail', 'two\nlines\r\n', 'x'.repeat(1000), 'Ünïcödé 🎉']) {
        const s = await chat.sessions.create({ userId: 'u1', title });
        assert.is(s.title, title);
        const renamed = `!${title.slice(1)}`;
        assert.is((await chat.sessions.rename(s.sessionId, renamed)).title, renamed);
      }
    }));

  test('a title over 1,000 characters or holding another control character is refused naming the field', () =>
    open(async (chat) => {
      await seedSession(chat);
      for (const title of ['x'.repeat(1001), 'nul\u0000', 'bell\u0007', 'esc\u001b[0m', 'del\u007f', 'c1\u0085']) {
        await failsCleanly(chat, () => chat.sessions.create({ userId: 'u1', title }), ErrorCode.INVALID_ARGUMENT, 'session.title');
        await failsCleanly(chat, () => chat.sessions.rename('s1', title), ErrorCode.INVALID_ARGUMENT, 'title');
      }
    }));

  if (kind === 'flatfile') {
    test('createdAt and inline bytes survive reopening, and an export imported into a new store', () =>
      withTempDir(async (root) => {
        const dir = path.join(root, 'store');
        let chat = await openChatStore({ dir, durability: 'none' });
        await seedUser(chat);
        await chat.sessions.create({ userId: 'u1', sessionId: 'old', title: 'Old\tthread', createdAt: '2002-08-01T09:30:00Z' });
        await chat.messages.add('old', { messageId: 'm1', role: 'user', content: 'hello 2002', createdAt: '2002-08-01T09:31:00Z' });
        await chat.documents.upload({ sessionId: 'old', documentId: 'd1', mediaType: 'text/plain', createdAt: '2002-08-01T09:32:00Z' }, Buffer.from('doc'));
        await chat.messages.add('old', { messageId: 'm2', role: 'user', content: [{ type: 'file', url: 'data:text/plain;base64,aGk=' }] });
        await chat.close();
        await exportFolder(dir, path.join(root, 'export'));
        await importToFolder(path.join(root, 'copy'), path.join(root, 'export'));
        for (const at of [dir, path.join(root, 'copy')]) {
          chat = await openChatStore({ dir: at, durability: 'none' });
          try {
            const s = await chat.sessions.get('old');
            assert.equal([s.title, s.createdAt], ['Old\tthread', T2002]);
            assert.is((await chat.messages.get('old', 'm1')).createdAt, T2002 + 60_000);
            assert.is((await chat.documents.get('d1')).uploadedAt, T2002 + 120_000);
            assert.equal((await chat.messages.get('old', 'm2')).content, [{ type: 'file', url: 'data:text/plain;base64,aGk=' }]);
          } finally {
            await chat.close();
          }
        }
        assert.ok(fs.existsSync(path.join(root, 'copy')));
      }));
  }
});
