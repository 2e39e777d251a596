import fs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { openChatStore } from '../../src/chat/chat-store.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { fails } from './helpers.js';

test("a refused field is named where the caller put it, in details.field and the message, as the README's Validation paragraph says", async () => {
  const validation = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8').split('\n').find((line) => line.startsWith('- **Validation.**'))!;
  const chat = await openChatStore({ backend: new MemoryBackend() });
  try {
    await chat.users.create({ userId: 'u1' });
    const { sessionId } = await chat.sessions.create({ userId: 'u1', title: 'T' });
    const cases: [field: string, call: () => Promise<unknown>][] = [
      ['session.title', () => chat.sessions.create({ userId: 'u1', title: 5 as never })],
      ['message.content[0].text', () => chat.messages.add(sessionId, { role: 'user', content: [{ type: 'text', text: 5 as never }] })],
      ['title', () => chat.sessions.rename(sessionId, 'x'.repeat(1001))],
    ];
    for (const [field, call] of cases) {
      assert.ok(validation.includes(`\`${field}\``), `the README names ${field}`);
      const err = await fails(call(), ErrorCode.INVALID_ARGUMENT, field);
      assert.ok(err.message.startsWith(`${field} `), err.message);
    }
    // The event's own payload path is not what a caller of the chat API sees.
    assert.not.match(validation, '`data.title`');
  } finally {
    await chat.close();
  }
});

test.run();
