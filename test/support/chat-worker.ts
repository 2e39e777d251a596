/**
 * A child process that writes through the chat API on a flatfile store, for the
 * chat crash test (test/support/chat-crash-cycles.ts) and the projections'
 * follow test. Run as `node --import tsx test/support/chat-worker.ts '<json config>'`.
 *
 * It creates its own user, then runs a seeded random mix of chat writes on
 * its own sessions (create, rename, delete with or without purge, add/edit/
 * delete messages, each text holding a word of its own, set/patch/snapshot
 * context, upload/analyse/delete documents whose bytes other documents
 * share), searches (for a live message's word, which must find exactly that
 * message, or a deleted or replaced one's, which must find nothing: a wrong
 * result fails the process) and now and then closes and reopens the store.
 * Before each operation it reports an `intent` line, and after it resolved an
 * `ack` line with the same `seq`, each with one fs.writeSync to `ackFile`: so
 * an ack line means the write was acknowledged, and at most the last intent
 * has no ack (the operation in flight when the process died).
 */
import fs from 'node:fs';
import { openChatStore } from '../../src/chat/chat-store.js';
import { isFfcdbError } from '../../src/kernel/errors.js';
import { type ChatLine, type ChatOp, type ChatWorkerConfig, documentBytes, uniqueWord } from './chat-ops.js';
import { rng } from './workload.js';

const config = JSON.parse(process.argv[2] ?? '{}') as ChatWorkerConfig;

async function main(): Promise<void> {
  const out = fs.openSync(config.ackFile, 'a');
  const report = (line: ChatLine) => fs.writeSync(out, `${JSON.stringify(line)}\n`);
  const random = rng(config.seed);
  const chance = (p: number) => random() < p;
  const choose = <T>(list: readonly T[]): T | undefined => list[Math.floor(random() * list.length)];
  const open = () =>
    openChatStore({
      dir: config.dir,
      durability: 'always',
      lockStaleMs: config.lockStaleMs ?? 2000,
      snapshotEvery: config.snapshotEvery ?? 5,
      ...(config.searchIndexing ? { searchIndexing: config.searchIndexing } : {}),
    });
  while (config.goFile !== undefined && !fs.existsSync(config.goFile)) await new Promise((resolve) => setTimeout(resolve, 2));
  let chat = await open();
  report({ kind: 'ready' });

  const userId = `${config.tag}-u`;
  const sessions: string[] = [];
  const messages = new Map<string, string[]>();
  const documents: string[] = [];
  /** The word each live message holds now, and the words no live message holds any more. */
  const words = new Map<string, string>();
  const goneWords: string[] = [];
  const forget = (messageId: string) => {
    goneWords.push(words.get(messageId)!);
    words.delete(messageId);
  };
  let n = 0;

  const next = (): ChatOp => {
    const sessionId = choose(sessions);
    if (n === 1 || sessionId === undefined || chance(0.08)) return { op: 'session.create', userId, sessionId: `${config.tag}-s${n}`, title: `Session ${n}` };
    const live = messages.get(sessionId)!;
    const word = uniqueWord(config.tag, n);
    if (chance(0.1)) {
      const id = choose([...words.keys()]);
      const gone = chance(0.3) ? choose(goneWords) : undefined;
      if (gone !== undefined) return { op: 'search', userId, word: gone, expect: null };
      if (id !== undefined) return { op: 'search', userId, word: words.get(id)!, expect: id };
    }
    if (chance(0.015)) return { op: 'store.reopen' };
    const r = random();
    if (r < 0.3) return { op: 'message.add', sessionId, messageId: `${config.tag}-m${n}`, content: `message ${n} ${word} ${'é😀'.repeat(n % 5)}`, word };
    if (r < 0.38 && live.length > 0) return { op: 'message.edit', sessionId, messageId: choose(live)!, content: `edited at ${n}: ${word}`, word };
    if (r < 0.43 && live.length > 0) return { op: 'message.delete', sessionId, messageId: choose(live)! };
    if (r < 0.5) return { op: 'context.set', sessionId, value: { summary: `at ${n}`, points: [n, n + 1], nested: { keep: true, drop: n } } };
    if (r < 0.62) return { op: 'context.patch', sessionId, value: { summary: `patched ${n}`, nested: { drop: null, [`k${n % 3}`]: n }, ...(chance(0.3) ? { points: null } : {}) } };
    if (r < 0.66) return { op: 'context.snapshot', sessionId, name: `snap-${n}` };
    if (r < 0.76) return { op: 'document.upload', sessionId, documentId: `${config.tag}-d${n}`, variant: Math.floor(random() * 3) };
    if (r < 0.8 && documents.length > 0) return { op: 'document.analyse', documentId: choose(documents)!, summary: `summary ${n}` };
    if (r < 0.84 && documents.length > 0) return { op: 'document.delete', documentId: choose(documents)! };
    if (r < 0.9) return { op: 'session.rename', sessionId, title: `Renamed ${n}` };
    if (r < 0.95 && sessions.length > 1) return { op: 'session.delete', sessionId, purge: chance(0.5) };
    return { op: 'message.add', sessionId, messageId: `${config.tag}-m${n}`, content: `message ${n} ${word}`, word };
  };

  const run = async (o: ChatOp): Promise<void> => {
    switch (o.op) {
      case 'user.create':
        await chat.users.create({ userId: o.userId });
        return;
      case 'session.create':
        await chat.sessions.create({ userId: o.userId, sessionId: o.sessionId, title: o.title });
        sessions.push(o.sessionId);
        messages.set(o.sessionId, []);
        return;
      case 'session.rename':
        await chat.sessions.rename(o.sessionId, o.title);
        return;
      case 'session.delete': {
        await chat.sessions.delete(o.sessionId, { purge: o.purge });
        sessions.splice(sessions.indexOf(o.sessionId), 1);
        for (const messageId of messages.get(o.sessionId)!) forget(messageId);
        const gone = new Set((await chat.documents.list({ userId })).items.map((d) => d.documentId));
        documents.splice(0, documents.length, ...documents.filter((d) => gone.has(d)));
        return;
      }
      case 'message.add':
        await chat.messages.add(o.sessionId, { messageId: o.messageId, role: 'user', content: o.content });
        messages.get(o.sessionId)!.push(o.messageId);
        words.set(o.messageId, o.word);
        return;
      case 'message.edit':
        await chat.messages.edit(o.sessionId, o.messageId, { content: o.content });
        forget(o.messageId);
        words.set(o.messageId, o.word);
        return;
      case 'message.delete': {
        await chat.messages.delete(o.sessionId, o.messageId);
        const live = messages.get(o.sessionId)!;
        live.splice(live.indexOf(o.messageId), 1);
        forget(o.messageId);
        return;
      }
      case 'context.set':
        await chat.context.set(o.sessionId, o.value);
        return;
      case 'context.patch':
        await chat.context.patch(o.sessionId, o.value);
        return;
      case 'context.snapshot':
        await chat.context.snapshot(o.sessionId, o.name);
        return;
      case 'document.upload':
        await chat.documents.upload({ sessionId: o.sessionId, documentId: o.documentId, name: `doc-${n}.txt`, mediaType: 'text/plain' }, documentBytes(o.variant));
        documents.push(o.documentId);
        return;
      case 'document.analyse':
        await chat.documents.analyse(o.documentId, { summary: o.summary });
        return;
      case 'document.delete':
        await chat.documents.delete(o.documentId);
        documents.splice(documents.indexOf(o.documentId), 1);
        return;
      case 'search': {
        const page = await chat.search(o.userId, o.word);
        const found = page.items.map((h) => `${h.kind} ${h.itemId}`);
        const expected = o.expect === null ? [] : [`message ${o.expect}`];
        if (JSON.stringify(found) !== JSON.stringify(expected) || page.total !== expected.length) {
          throw new Error(`a search for ${o.word} found [${found.join(', ')}] (total ${page.total}), expected [${expected.join(', ')}]`);
        }
        return;
      }
      case 'store.reopen':
        await chat.close();
        chat = await open();
        return;
    }
  };

  const limit = config.ops ?? Number.POSITIVE_INFINITY;
  for (n = 0; n < limit; n++) {
    const o: ChatOp = n === 0 ? { op: 'user.create', userId } : next();
    report({ kind: 'intent', seq: n, ...o });
    await run(o);
    report({ kind: 'ack', seq: n, ...o });
  }
  await chat.close();
  report({ kind: 'done' });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`chat worker ${config.tag} failed: ${(err as Error)?.stack ?? String(err)} ${JSON.stringify(isFfcdbError(err) ? { code: err.code, details: err.details } : {})}\n`);
    process.exit(1);
  },
);
