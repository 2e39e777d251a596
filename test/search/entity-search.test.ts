import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChatStore } from '../../src/chat/chat-store.js';
import { ErrorCode, FfcdbError } from '../../src/kernel/errors.js';
import { BACKENDS, withChat } from '../chat/helpers.js';

/** Every message, document, title or context that mentions something: `chat.search(user, '', { entity })`. */

async function setUp(chat: ChatStore): Promise<string> {
  for (const userId of ['alice', 'bob']) await chat.users.create({ userId });
  return (await chat.sessions.create({ userId: 'alice', title: 'Billing' })).sessionId;
}

const ids = (page: { items: { itemId: string }[] }) => page.items.map((h) => h.itemId).sort();

for (const kind of BACKENDS) {
  test(`${kind}: every message mentioning an email, URL, @mention, #tag, id or name is found by it, and no other`, () =>
    withChat(kind, async (chat) => {
      const s = await setUp(chat);
      const a = await chat.messages.add(s, { role: 'user', content: 'Write to Ada.Lovelace@Example.com about ORDER-1234, see https://example.com/docs.' });
      const b = await chat.messages.add(s, { role: 'assistant', content: 'Sure @ada, filed under #billing for Grace Hopper.' });
      const c = await chat.messages.add(s, { role: 'user', content: 'ada wrote about example docs and an order' });
      assert.equal(ids(await chat.search('alice', '', { entity: 'ada.lovelace@example.com' })), [a.messageId]);
      assert.equal(ids(await chat.search('alice', '', { entity: { type: 'email', value: 'ADA.LOVELACE@example.com' } })), [a.messageId]);
      assert.equal(ids(await chat.search('alice', '', { entity: { type: 'url', value: 'ada.lovelace@example.com' } })), []);
      assert.equal(ids(await chat.search('alice', '', { entity: 'ORDER-1234' })), [a.messageId]);
      assert.equal(ids(await chat.search('alice', '', { entity: 'https://example.com/docs' })), [a.messageId]);
      assert.equal(ids(await chat.search('alice', '', { entity: '@ada' })), [b.messageId]);
      assert.equal(ids(await chat.search('alice', '', { entity: '#billing' })), [b.messageId]);
      assert.equal(ids(await chat.search('alice', '', { entity: 'Grace Hopper' })), [b.messageId]);
      // Plain words still find all three; the entity filter is what narrows to mentions.
      assert.equal(ids(await chat.search('alice', 'ada', { kinds: ['message'] })), [a.messageId, b.messageId, c.messageId].sort());
      assert.equal(ids(await chat.search('bob', '', { entity: 'ada.lovelace@example.com' })), []);
    }));

  test(`${kind}: an entity combines with words and filters, scores by the words, and its mention is highlighted`, () =>
    withChat(kind, async (chat) => {
      const s = await setUp(chat);
      const a = await chat.messages.add(s, { role: 'user', content: 'The invoice for ada@example.com is late.' });
      await chat.messages.add(s, { role: 'assistant', content: 'I will send the invoice today.' });
      const b = await chat.messages.add(s, { role: 'assistant', content: 'Reminder sent to ada@example.com.' });
      const page = await chat.search('alice', 'invoice', { entity: 'ada@example.com' });
      assert.equal(ids(page), [a.messageId]);
      assert.ok(page.items[0]!.score > 0);
      assert.equal(ids(await chat.search('alice', '', { entity: 'ada@example.com', role: 'assistant' })), [b.messageId]);
      assert.equal(ids(await chat.search('alice', '-invoice', { entity: 'ada@example.com' })), [b.messageId]);
      const only = await chat.search('alice', '', { entity: 'ada@example.com', role: 'assistant' });
      const snippet = only.items[0]!.snippet!;
      assert.equal(snippet.highlights.map(([x, y]) => snippet.text.slice(x, y)), ['ada@example.com']);
    }));

  test(`${kind}: entities given in message metadata are found; an edit keeps them unless it gives new metadata; its text's entities follow the text`, () =>
    withChat(kind, async (chat) => {
      const s = await setUp(chat);
      const m = await chat.messages.add(s, { role: 'user', content: 'Ask @grace about it', metadata: { entities: [{ type: 'person', text: 'Grace Hopper' }] } });
      assert.equal(ids(await chat.search('alice', '', { entity: { type: 'person', value: 'grace hopper' } })), [m.messageId]);
      assert.equal(ids(await chat.search('alice', '', { entity: '@grace' })), [m.messageId]);
      await chat.messages.edit(s, m.messageId, { content: 'Ask @linus about it' });
      assert.equal(ids(await chat.search('alice', '', { entity: 'Grace Hopper' })), [m.messageId]);
      assert.equal(ids(await chat.search('alice', '', { entity: '@grace' })), []);
      assert.equal(ids(await chat.search('alice', '', { entity: '@linus' })), [m.messageId]);
      await chat.messages.edit(s, m.messageId, { content: 'Ask @linus about it', metadata: { entities: [{ type: 'person', text: 'Linus Torvalds' }] } });
      assert.equal(ids(await chat.search('alice', '', { entity: 'Grace Hopper' })), []);
      assert.equal(ids(await chat.search('alice', '', { entity: 'Linus Torvalds' })), [m.messageId]);
      await chat.messages.delete(s, m.messageId);
      assert.equal(ids(await chat.search('alice', '', { entity: 'Linus Torvalds' })), []);
    }));

  test(`${kind}: a document's latest analysis entities are found, replacing the previous analysis's`, () =>
    withChat(kind, async (chat) => {
      const s = await setUp(chat);
      const d = await chat.documents.upload({ sessionId: s, name: 'contract.pdf', mediaType: 'application/pdf' }, Buffer.from('%PDF'));
      await chat.documents.analyse(d.documentId, { text: 'Agreement text', entities: [{ type: 'org', text: 'Acme Corp' }] });
      assert.equal(ids(await chat.search('alice', '', { entity: 'Acme Corp', kinds: ['document'] })), [d.documentId]);
      await chat.documents.analyse(d.documentId, { text: 'Agreement text', entities: [{ type: 'org', text: 'Globex' }] });
      assert.equal(ids(await chat.search('alice', '', { entity: 'Acme Corp' })), []);
      assert.equal(ids(await chat.search('alice', '', { entity: { type: 'org', value: 'globex' } })), [d.documentId]);
    }));

  test(`${kind}: a bad entity option is INVALID_ARGUMENT naming the field, and a query with neither words nor entity is refused`, () =>
    withChat(kind, async (chat) => {
      await setUp(chat);
      for (const [entity, field] of [[42, 'entity'], [' ', 'entity'], [{ type: 'email' }, 'entity.value'], [{ type: '', value: 'x' }, 'entity.type'], [{ type: 'a', value: 'b', extra: 1 }, 'entity.extra']] as const) {
        try {
          await chat.search('alice', '', { entity: entity as never });
          assert.unreachable(`expected ${field} to be refused`);
        } catch (err) {
          assert.instance(err, FfcdbError);
          assert.is((err as FfcdbError).code, ErrorCode.INVALID_ARGUMENT);
          assert.is((err as FfcdbError).details?.field, field);
        }
      }
      try {
        await chat.search('alice', '   ');
        assert.unreachable('expected an empty query to be refused');
      } catch (err) {
        assert.is((err as FfcdbError).details?.field, 'query');
      }
    }));
}

test.run();
