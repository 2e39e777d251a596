import { Readable } from 'node:stream';
import * as assert from 'uvu/assert';
import type { ChatStore } from '../../src/chat/chat-store.js';
import { FfcdbError } from '../../src/kernel/errors.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { openTestChat, seedSession } from './helpers.js';

/**
 * Every public chat call, fed values that break careless error formatting or
 * run the caller's code when read (BigInt, symbols, throwing toString and
 * getters, Proxies, objects without a prototype), in each argument: each
 * call must fail with an FfcdbError carrying a code, and append nothing.
 */
const test = flatfileSuite('chat: hostile input');

const boom = (): never => {
  throw new Error('boom');
};
/** Throws a value that is not an Error, so formatting what was thrown is hostile too. */
const boomBare = (): never => {
  throw Object.create(null);
};
/** No prototype, so String() of it throws; a BigInt inside, so it is no valid JSON either. */
const bareObject = () => Object.assign(Object.create(null), { x: 1n });
const throwingString = () => ({ toString: boom, valueOf: boom, [Symbol.toPrimitive]: boom });

/** Every field name a chat call reads (each set to a hostile value, so that no object here is a valid argument anywhere) from an object argument (options, payloads, owners, ranges, asOf). */
const FIELDS = [
  'userId', 'sessionId', 'messageId', 'documentId', 'displayName', 'email', 'profile', 'preferences', 'title', 'tags', 'metadata',
  'role', 'content', 'attachments', 'name', 'mediaType', 'sha256', 'maxBytes', 'summary', 'entities', 'data', 'extractedText',
  'actor', 'correlationId', 'causationId', 'waitFor', 'limit', 'after', 'before', 'order', 'tag', 'archived', 'createdFrom', 'createdTo',
  'purge', 'revision', 'asOf', 'version', 'time', 'snapshot', 'fromVersion', 'start', 'end', 'analysisVersion', 'operator', 'from', 'to',
  'entity', 'kinds', 'type', 'text', 'arguments', 'result',
];

function poisoned(base: object, leaf: () => unknown): object {
  for (const f of FIELDS) (base as Record<string, unknown>)[f] = leaf();
  return base;
}

function withGetters(get: () => never): object {
  const o = {};
  for (const f of FIELDS) Object.defineProperty(o, f, { get, enumerable: true });
  return o;
}

function hostileValues(): [string, () => unknown][] {
  const traps = { get: boom, has: boom, ownKeys: boom, getPrototypeOf: boom, getOwnPropertyDescriptor: boom, apply: boom };
  return [
    ['a BigInt', () => 1n],
    ['a symbol', () => Symbol('s')],
    ['an object with throwing toString', () => poisoned(throwingString(), () => 1n)],
    ['an object without a prototype', () => poisoned(Object.create(null), bareObject)],
    ['fields of BigInts without a prototype', () => poisoned(Object.create(null), () => 1n)],
    ['fields of symbols', () => poisoned({}, () => Symbol('s'))],
    ['fields with throwing toString', () => poisoned({}, throwingString)],
    ['fields without a prototype', () => poisoned({}, bareObject)],
    ['fields that are Proxies', () => poisoned({}, () => new Proxy({}, traps))],
    ['throwing getters', () => withGetters(boom)],
    ['getters throwing a non-Error', () => withGetters(boomBare)],
    ['a Proxy with throwing traps', () => new Proxy({}, traps)],
    ['a Proxy of an array', () => new Proxy([], traps)],
    ['a revoked Proxy', () => {
      const r = Proxy.revocable({}, {});
      r.revoke();
      return r.proxy;
    }],
    ['an array of Proxies', () => [new Proxy({}, traps)]],
  ];
}

/** One public call: its valid arguments (against the seeded store), and how to make it. */
interface Call {
  name: string;
  args: () => unknown[];
  run(chat: ChatStore, args: unknown[]): Promise<unknown>;
}

const any = (fn: (...a: never[]) => unknown) => fn as (...a: unknown[]) => Promise<unknown>;
const call = (name: string, args: () => unknown[], get: (chat: ChatStore) => (...a: unknown[]) => Promise<unknown>): Call => ({
  name,
  args,
  run: (chat, a) => get(chat)(...a),
});

const CALLS: Call[] = [
  call('users.create', () => [{ userId: 'u9' }, {}], (c) => any(c.users.create.bind(c.users))),
  call('users.get', () => ['u1', {}], (c) => any(c.users.get.bind(c.users))),
  call('users.update', () => ['u1', { displayName: 'x' }, {}], (c) => any(c.users.update.bind(c.users))),
  call('sessions.create', () => [{ userId: 'u1', title: 't' }, {}], (c) => any(c.sessions.create.bind(c.sessions))),
  call('sessions.get', () => ['s1', {}], (c) => any(c.sessions.get.bind(c.sessions))),
  call('sessions.rename', () => ['s1', 'new', {}], (c) => any(c.sessions.rename.bind(c.sessions))),
  call('sessions.tag', () => ['s1', ['a'], {}], (c) => any(c.sessions.tag.bind(c.sessions))),
  call('sessions.archive', () => ['s1', true, {}], (c) => any(c.sessions.archive.bind(c.sessions))),
  call('sessions.delete', () => ['s1', {}], (c) => any(c.sessions.delete.bind(c.sessions))),
  call('sessions.restore', () => ['s1', {}], (c) => any(c.sessions.restore.bind(c.sessions))),
  call('sessions.list', () => ['u1', {}], (c) => any(c.sessions.list.bind(c.sessions))),
  call('messages.add', () => ['s1', { role: 'user', content: 'hi' }, {}], (c) => any(c.messages.add.bind(c.messages))),
  call('messages.add (a list)', () => ['s1', [{ role: 'user', content: 'hi' }], {}], (c) => any(c.messages.add.bind(c.messages))),
  call('messages.get', () => ['s1', 'm1', {}], (c) => any(c.messages.get.bind(c.messages))),
  call('messages.history', () => ['s1', 'm1', {}], (c) => any(c.messages.history.bind(c.messages))),
  call('messages.list', () => ['s1', {}], (c) => any(c.messages.list.bind(c.messages))),
  call('messages.edit', () => ['s1', 'm1', { content: 'edited' }, {}], (c) => any(c.messages.edit.bind(c.messages))),
  call('messages.delete', () => ['s1', 'm1', {}], (c) => any(c.messages.delete.bind(c.messages))),
  call('messages.count', () => ['s1', {}], (c) => any(c.messages.count.bind(c.messages))),
  call('documents.upload', () => [{ sessionId: 's1', name: 'a.txt', mediaType: 'text/plain' }, Buffer.from('x'), {}], (c) => any(c.documents.upload.bind(c.documents))),
  call('documents.upload (a stream)', () => [{ sessionId: 's1', name: 'a.txt', mediaType: 'text/plain' }, Readable.from([Buffer.from('x')]), {}], (c) => any(c.documents.upload.bind(c.documents))),
  call('documents.get', () => ['d1', {}], (c) => any(c.documents.get.bind(c.documents))),
  call('documents.open', () => ['d1', { start: 0 }], (c) => any(c.documents.open.bind(c.documents))),
  call('documents.list', () => [{ sessionId: 's1' }, {}], (c) => any(c.documents.list.bind(c.documents))),
  call('documents.analyse', () => ['d1', { summary: 'x' }, {}], (c) => any(c.documents.analyse.bind(c.documents))),
  call('documents.analyses', () => ['d1', {}], (c) => any(c.documents.analyses.bind(c.documents))),
  call('documents.delete', () => ['d1', {}], (c) => any(c.documents.delete.bind(c.documents))),
  call('context.set', () => ['s1', { a: 1 }, {}], (c) => any(c.context.set.bind(c.context))),
  call('context.patch', () => ['s1', { a: 1 }, {}], (c) => any(c.context.patch.bind(c.context))),
  call('context.get', () => ['s1', {}], (c) => any(c.context.get.bind(c.context))),
  call('context.get (asOf)', () => ['s1', { asOf: { snapshot: 'snap' } }], (c) => any(c.context.get.bind(c.context))),
  call('context.snapshot', () => ['s1', 'another', {}], (c) => any(c.context.snapshot.bind(c.context))),
  call('context.snapshots', () => ['s1', {}], (c) => any(c.context.snapshots.bind(c.context))),
  call('context.history', () => ['s1', {}], (c) => any(c.context.history.bind(c.context))),
  call('search', () => ['u1', 'hello', {}], (c) => any(c.search)),
  call('export', () => ['s1', 'json'], (c) => async (...a: unknown[]) => {
    for await (const _ of c.export(...(a as [string, 'json']))) {
      // drain
    }
  }),
  call('projections.compare', () => ['messages'], (c) => any(c.projections.compare)),
  call('projections.rebuild', () => ['messages'], (c) => any(c.projections.rebuild)),
];

test('every public chat call fails with an FfcdbError, appending nothing, whatever hostile value an argument holds', async () => {
  const { chat, close } = await openTestChat('memory');
  try {
    await seedSession(chat);
    await chat.messages.add('s1', { messageId: 'm1', role: 'user', content: 'hello' });
    await chat.documents.upload({ documentId: 'd1', sessionId: 's1', name: 'a.txt', mediaType: 'text/plain' }, Buffer.from('abc'));
    await chat.context.snapshot('s1', 'snap');
    const problems: string[] = [];
    let calls = 0;
    for (const c of CALLS) {
      const valid = c.args();
      for (let i = 0; i < valid.length; i++) {
        for (const [what, make] of hostileValues()) {
          const args = c.args();
          args[i] = make();
          const head = await chat.events.headPosition();
          calls++;
          let outcome: string;
          try {
            await c.run(chat, args);
            outcome = 'resolved';
          } catch (err) {
            outcome = err instanceof FfcdbError && typeof err.code === 'string' ? 'ok' : `threw ${err instanceof Error ? `${err.name}: ${err.message}` : typeof err}`;
          }
          if (await chat.events.headPosition() !== head) outcome += ', appended';
          if (outcome !== 'ok') problems.push(`${c.name} argument ${i + 1} = ${what}: ${outcome}`);
        }
      }
    }
    assert.equal(problems, [], `${problems.length} of ${calls} calls:\n${problems.join('\n')}`);
  } finally {
    await close();
  }
});

test.run();
