// Shared helpers for the export and import tests (not a test file itself).
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { CHAT_PROJECTIONS } from '../../src/projections/index.js';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import type { BlobStore } from '../../src/blobs/blob-store.js';
import { FileBlobStore } from '../../src/blobs/file-blob-store.js';
import { MemoryBlobStore } from '../../src/blobs/memory-blob-store.js';
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import { EventStore } from '../../src/engine/event-store.js';
import { Monitor } from '../../src/engine/monitor.js';
import type { StoreParts } from '../../src/export/export-store.js';
import type { Projection } from '../../src/projections/projection.js';
import { ProjectionRunner } from '../../src/projector/projection-runner.js';
import { MemorySnapshotStore } from '../../src/projector/snapshot-store.js';
import { openFolderParts } from '../../src/engine/open-store.js';
import type { RecordedEvent } from '../../src/kernel/types.js';
import type { BackendKind } from '../chat/helpers.js';
import { tempRoot } from '../flatfile/unit-helpers.js';

/** A temporary folder for the test, removed with `cleanup`. */
export class Temp {
  readonly root = tempRoot('export');

  /** A path inside the folder that does not exist yet. */
  path(name: string): string {
    return path.join(this.root, name);
  }

  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** A chat store on `kind` and the parts an export reads (its engine and blob store). */
export interface Source {
  chat: ChatStore;
  parts: StoreParts;
  close(): Promise<void>;
}

export async function openSource(kind: BackendKind, temp: Temp, name = 'source'): Promise<Source> {
  if (kind === 'memory') {
    const blobs = new MemoryBlobStore();
    const chat = await openChatStore({ backend: new MemoryBackend(), blobs });
    return { chat, parts: { events: chat.events, blobs }, close: () => chat.close() };
  }
  const dir = temp.path(name);
  const chat = await openChatStore({ dir, durability: 'none' });
  const blobs = new FileBlobStore(dir);
  return {
    chat,
    parts: { events: chat.events, blobs },
    close: async () => {
      await blobs.close();
      await chat.close();
    },
  };
}

/** An empty engine and blob store on `kind` (a flatfile one in a new folder of temp). */
export async function emptyParts(kind: BackendKind, temp: Temp, name: string): Promise<StoreParts & { close(): Promise<void> }> {
  if (kind === 'flatfile') return openFolderParts({ dir: temp.path(name), durability: 'none' });
  const events = await EventStore.open(new MemoryBackend());
  const blobs: BlobStore = new MemoryBlobStore();
  return {
    events,
    blobs,
    close: async () => {
      await blobs.close();
      await events.close();
    },
  };
}

/** Opens the flatfile store in `dir` for export (its engine and blobs), runs fn, closes it. */
export async function withFolderParts<T>(dir: string, fn: (parts: StoreParts) => Promise<T>): Promise<T> {
  const parts = await openFolderParts({ dir, durability: 'none', create: false });
  try {
    return await fn(parts);
  } finally {
    await parts.close();
  }
}

/**
 * A store built through the chat API with a bit of everything: two users,
 * sessions with messages (parts, bytes in metadata, an edit, a delete),
 * documents (in a session, in a user's library, two sharing one blob, one
 * deleted with its blob released), analyses, context set/patch/snapshot, an
 * archived and a deleted session, and raw engine events whose data holds
 * bytes and objects that look like the export's tags.
 */
export async function seedStore(chat: ChatStore): Promise<void> {
  await chat.users.create({ userId: 'ann', displayName: 'Ann', email: 'ann@example.com', preferences: { theme: 'dark' } });
  await chat.users.create({ userId: 'bob', profile: { bio: 'Bob ünïcödé 👋' } });
  await chat.users.update('ann', { displayName: 'Ann B.' });
  await chat.sessions.create({ userId: 'ann', sessionId: 's1', title: 'Trip to Lisbon', tags: ['travel'], metadata: { n: 1.5 } });
  await chat.sessions.create({ userId: 'bob', sessionId: 's2', title: 'Recipes' });
  await chat.sessions.create({ userId: 'ann', sessionId: 's3', title: 'To be deleted' });
  const pdf = await chat.documents.upload({ sessionId: 's1', documentId: 'd1', name: 'plan.pdf', mediaType: 'application/pdf', metadata: { pages: 2 } }, Buffer.from('%PDF-1.4 plan'));
  await chat.documents.upload({ sessionId: 's2', documentId: 'd2', name: 'same.pdf', mediaType: 'application/pdf' }, Buffer.from('%PDF-1.4 plan'));
  await chat.documents.upload({ userId: 'ann', documentId: 'lib1', name: 'cv.txt', mediaType: 'text/plain' }, Buffer.from('curriculum vitae\n'.repeat(1000)));
  await chat.documents.upload({ sessionId: 's1', documentId: 'gone', name: 'gone.txt', mediaType: 'text/plain' }, Buffer.from('released bytes'));
  await chat.documents.analyse('d1', { summary: 'A plan', entities: [{ type: 'place', text: 'Lisbon' }] });
  await chat.documents.analyse('d1', { summary: 'A better plan', data: { score: 0.75 } });
  await chat.documents.delete('gone');
  const [m1, , m3] = await chat.messages.add('s1', [
    { role: 'system', content: 'You are helpful.' },
    { role: 'user', content: 'Find a hotel', attachments: [{ documentId: pdf.documentId, name: 'plan.pdf' }], metadata: { raw: new Uint8Array([0, 1, 254, 255]) } },
    { role: 'assistant', content: 'to be deleted' },
    { role: 'assistant', content: [{ type: 'text', text: 'Here' }, { type: 'tool_call', id: 'c1', name: 'search', arguments: { q: 'hotel', $base64: 'not bytes' } }] },
  ]);
  await chat.messages.add('s2', { role: 'user', content: 'Pancakes?' });
  await chat.messages.edit('s1', m1!.messageId, { content: 'You are very helpful.' }, { actor: 'ann', correlationId: 'turn-2' });
  await chat.messages.delete('s1', m3!.messageId);
  await chat.context.set('s1', { city: 'Lisbon', budget: 100 });
  await chat.context.snapshot('s1', 'first');
  await chat.context.patch('s1', { budget: 120, nights: 3 });
  await chat.sessions.rename('s2', 'Breakfast recipes');
  await chat.sessions.archive('s2');
  await chat.messages.add('s3', { role: 'user', content: 'secret-ish' });
  await chat.sessions.delete('s3');
  await chat.events.append('raw-1', [
    { type: 'test.raw', data: { bytes: new Uint8Array([1, 2, 3]), tag: { $base64: 'AQID' }, wrapped: { $object: { x: 1 } }, empty: new Uint8Array(0) }, metadata: { actor: 'tool', blob: new Uint8Array([9]) } },
    { type: 'test.raw', schemaVersion: 3, data: [null, true, -1.25e-7, 2 ** 53 - 1, '\u0000\n"\\', { '': {}, '10': 1, '9': 2 }] },
  ]);
}

/**
 * Every chat projection's state built from the log of `events`, made plain
 * (Maps as entry lists, bytes as base64) so two stores' states compare with
 * assert.equal whatever Uint8Array subclass their backends return.
 */
export async function projectionStates(events: EventStore): Promise<Record<string, unknown>> {
  const runner = await ProjectionRunner.open(events, CHAT_PROJECTIONS, { snapshots: new MemorySnapshotStore(), monitor: new Monitor() });
  try {
    await runner.catchUp(await events.headPosition());
    return Object.fromEntries(CHAT_PROJECTIONS.map((p) => [p.name, plain(runner.state(p as Projection<unknown>))]));
  } finally {
    await runner.close();
  }
}

export function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('base64') };
  if (v instanceof Map) return { map: [...v].map(([k, x]) => [plain(k), plain(x)]) };
  if (v instanceof Set) return { set: [...v].map(plain) };
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

export async function allEvents(events: EventStore): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of events.streamAll()) out.push(e);
  return out;
}

/** Every file of an export folder (relative path → bytes), to compare two exports byte for byte. */
export function exportFiles(dir: string): Map<string, Buffer> {
  const names = (fs.readdirSync(dir, { recursive: true }) as string[]).filter((n) => fs.lstatSync(path.join(dir, n)).isFile()).sort();
  return new Map(names.map((n) => [n, fs.readFileSync(path.join(dir, n))]));
}

export function assertSameFiles(a: string, b: string): void {
  const fa = exportFiles(a);
  const fb = exportFiles(b);
  assert.equal([...fb.keys()], [...fa.keys()], 'the same files');
  for (const [name, bytes] of fa) assert.ok(bytes.equals(fb.get(name)!), `${name} is byte-identical`);
}
