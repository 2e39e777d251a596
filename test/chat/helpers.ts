// Shared helpers for the chat API tests (not a test file itself).
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import type { Test } from 'uvu';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { MemoryBlobStore } from '../../src/blobs/memory-blob-store.js';
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import type { ErrorCode, FfcdbError } from '../../src/kernel/errors.js';
import { flatfileSuite, rejected, tempRoot } from '../flatfile/unit-helpers.js';

export type BackendKind = 'memory' | 'flatfile';
export const BACKENDS: readonly BackendKind[] = ['memory', 'flatfile'];

/** A temporary folder removed after fn, whatever happens. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = tempRoot('chat');
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What a test may inspect beside the store: its folder (flatfile) and the blobs it holds. */
export interface ChatEnv {
  kind: BackendKind;
  dir: string | undefined;
  /** The sha256 of every stored blob, sorted: files under `<dir>/blobs/` for flatfile. */
  blobs(): Promise<string[]>;
}

export type OpenChat = <T>(fn: (chat: ChatStore, env: ChatEnv) => Promise<T>) => Promise<T>;

export interface TestChat {
  chat: ChatStore;
  env: ChatEnv;
  /** Closes the store and removes its folder. */
  close(): Promise<void>;
}

/** A fresh chat store on `kind`: in memory, or flatfile in a temp folder with durability 'none'. */
export async function openTestChat(kind: BackendKind): Promise<TestChat> {
  if (kind === 'memory') {
    const blobs = new MemoryBlobStore();
    const chat = await openChatStore({ backend: new MemoryBackend(), blobs });
    const env: ChatEnv = {
      kind,
      dir: undefined,
      async blobs() {
        const out: string[] = [];
        for await (const b of blobs.list()) out.push(b.sha256);
        return out.sort();
      },
    };
    return { chat, env, close: () => chat.close() };
  }
  const dir = tempRoot('chat');
  try {
    const chat = await openChatStore({ dir, durability: 'none' });
    const close = async () => {
      try {
        await chat.close();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    };
    return { chat, env: { kind, dir, blobs: async () => blobFiles(dir) }, close };
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A fresh chat store on `kind`, closed and removed after fn. */
export async function withChat<T>(kind: BackendKind, fn: (chat: ChatStore, env: ChatEnv) => Promise<T>): Promise<T> {
  const { chat, env, close } = await openTestChat(kind);
  try {
    return await fn(chat, env);
  } finally {
    await close();
  }
}

/** The blob files of a flatfile store: files named by a sha256 anywhere under `<dir>/blobs/`. */
export function blobFiles(dir: string): string[] {
  const root = path.join(dir, 'blobs');
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true }) as string[])
    .map((p) => path.basename(p))
    .filter((name) => /^[0-9a-f]{64}$/.test(name))
    .sort();
}

/**
 * One suite per backend: `define` registers the tests, each of which opens its
 * own store with `open(fn)`. Tests run through flatfileSuite, so an unexpected
 * FfcdbError is reported instead of crashing uvu's reporter.
 */
export function chatSuites(title: string, define: (test: Test<Record<string, unknown>>, open: OpenChat, kind: BackendKind) => void): void {
  for (const kind of BACKENDS) {
    const test = flatfileSuite(`${title} (${kind})`);
    define(test, (fn) => withChat(kind, fn), kind);
    test.run();
  }
}

/** p rejects with an FfcdbError of `code` naming `field` (when given); returns it. */
export async function fails(p: Promise<unknown> | (() => Promise<unknown>), code: ErrorCode, field?: string): Promise<FfcdbError> {
  const err = await rejected(p);
  assert.is(err.code, code, `${err.message} ${JSON.stringify(err.details)}`);
  if (field !== undefined) assert.is(err.details.field, field, `${err.message} ${JSON.stringify(err.details)}`);
  return err;
}

/** Like `fails`, and the event log's head did not move: the failed call left nothing behind. */
export async function failsCleanly(chat: ChatStore, p: () => Promise<unknown>, code: ErrorCode, field?: string): Promise<FfcdbError> {
  const head = await chat.events.headPosition();
  const err = await fails(p, code, field);
  assert.is(await chat.events.headPosition(), head, `the failed call appended events (${err.code} ${String(err.details.field)})`);
  return err;
}

export async function seedUser(chat: ChatStore, userId = 'u1'): Promise<string> {
  await chat.users.create({ userId, displayName: `User ${userId}` });
  return userId;
}

export async function seedSession(chat: ChatStore, userId = 'u1', sessionId = 's1', title = 'A chat'): Promise<string> {
  const exists = await chat.users.get(userId).then(
    () => true,
    () => false,
  );
  if (!exists) await seedUser(chat, userId);
  await chat.sessions.create({ userId, sessionId, title });
  return sessionId;
}

/** Concatenates an async iterable of strings (an export) into one string. */
export async function collect(chunks: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const c of chunks) out += c;
  return out;
}

/** Reads a byte stream whole. */
export async function bytesOf(stream: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c));
  return Buffer.concat(parts);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
