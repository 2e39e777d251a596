/**
 * History import reaches SQL (issue 11, deliverable 3): the created_at columns
 * of sessions, messages (and revision 1) and documents take the `createdAt`
 * the chat API was given, the events table keeps each event's time of write,
 * a document without a name has a NULL name, inline bytes are a document
 * reference in the content column, and verify agrees.
 */
import * as assert from 'uvu/assert';
import { openChatStore } from '../../src/chat/chat-store.js';
import { migrate } from '../../src/migration/migrate.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { assertVerified, targets, tempRoot, withDriver, withLog } from './helpers.js';

const T = (iso: string) => Date.parse(iso);
const storeDir = tempRoot('history-store');
const written = Date.now();
{
  const chat = await openChatStore({ dir: storeDir, durability: 'none' });
  await chat.users.create({ userId: 'ann' });
  await chat.sessions.create({ userId: 'ann', sessionId: 'old', title: 'Re:\tan old thread\n', createdAt: '2002-08-01T09:30:00Z' });
  await chat.sessions.create({ userId: 'ann', sessionId: 'now', title: '' });
  await chat.messages.add('old', [
    { messageId: 'm1', role: 'user', content: 'first', createdAt: '2002-08-01T09:31:00Z' },
    { messageId: 'm2', role: 'user', content: 'reply', createdAt: '2002-08-02T10:00:00Z' },
  ]);
  await chat.messages.edit('old', 'm1', { content: 'first, edited' });
  await chat.messages.add('now', { messageId: 'm3', role: 'user', content: 'today' });
  await chat.messages.add('now', { messageId: 'm4', role: 'user', content: [{ type: 'image', url: 'data:image/png;base64,AAEC/w==' }] });
  await chat.documents.upload({ sessionId: 'old', documentId: 'd1', mediaType: 'text/plain', createdAt: '2002-08-01T09:32:00Z' }, Buffer.from('attached'));
  await chat.close();
}

for (const { name, make } of targets()) {
  const test = flatfileSuite(`migration of history imported into ${name}`);

  test('created_at columns take createdAt; events keep the time of the write; a nameless document has a NULL name; inline bytes are a reference; verify is clean', async () => {
    const t = make();
    try {
      await withLog(storeDir, async (store) => {
        await withDriver(t, (target) => migrate({ store, target }));
        await assertVerified(store, t);
      });
      await withDriver(t, async (d) => {
        const q = (sql: string) => d.query(sql.replace(/\{(\w+)\}/g, (_, n: string) => d.dialect.table(n)));
        const sessions = await q(`SELECT session_id, title, created_at, updated_at, last_message_at FROM {sessions} ORDER BY created_at`);
        assert.equal(sessions.map((r) => [r.session_id, r.title, Number(r.created_at)]).slice(0, 1), [['old', 'Re:\tan old thread\n', T('2002-08-01T09:30:00Z')]]);
        assert.is(sessions[1]!.title, '');
        assert.ok(Number(sessions[0]!.updated_at) >= written, 'updated_at is the time of the latest write');
        assert.is(Number(sessions[0]!.last_message_at), T('2002-08-02T10:00:00Z'));
        const messages = await q(`SELECT message_id, created_at, updated_at FROM {messages} WHERE message_id <> 'm4' ORDER BY message_id`);
        assert.equal(messages[1]!.message_id, 'm2');
        assert.equal([Number(messages[1]!.created_at), Number(messages[1]!.updated_at)], [T('2002-08-02T10:00:00Z'), T('2002-08-02T10:00:00Z')]);
        assert.is(Number(messages[0]!.created_at), T('2002-08-01T09:31:00Z'));
        assert.ok(Number(messages[0]!.updated_at) >= written, 'an edit is dated by its write');
        assert.ok(Number(messages[2]!.created_at) >= written);
        const revisions = await q(`SELECT revision, at FROM {message_revisions} WHERE message_id = 'm1' ORDER BY revision`);
        assert.is(Number(revisions[0]!.at), T('2002-08-01T09:31:00Z'));
        assert.ok(Number(revisions[1]!.at) >= written);
        const [doc] = await q(`SELECT name, uploaded_at FROM {documents} WHERE document_id = 'd1'`);
        assert.equal([doc!.name, Number(doc!.uploaded_at)], [null, T('2002-08-01T09:32:00Z')]);
        const [m4] = await q(`SELECT content FROM {messages} WHERE message_id = 'm4'`);
        const [inlineDoc] = await q(`SELECT document_id, size FROM {documents} WHERE session_id = 'now'`);
        assert.is(m4!.content, `[{"type":"image","inline":{"as":"url","prefix":"data:image/png;base64,"},"documentId":"${inlineDoc!.document_id}"}]`);
        assert.is(Number(inlineDoc!.size), 4);
        const events = await q(`SELECT at FROM {events} WHERE type = 'message.added'`);
        assert.ok(events.every((r) => Number(r.at) >= written), 'each event keeps the time of its write');
      });
    } finally {
      await t.cleanup();
    }
  });

  test.run();
}
