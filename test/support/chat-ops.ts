/** What test/support/chat-worker.ts is told and what it reports (shared with the tests that read its reports). */
import type { JsonObject } from '../../src/events/fields.js';
import type { SearchIndexing } from '../../src/chat/search-api.js';

export interface ChatWorkerConfig {
  dir: string;
  /** Prefix of every id this worker creates; unique per worker. */
  tag: string;
  ackFile: string;
  seed: number;
  /** Writes to do before closing the store; unbounded (until killed) when left out. */
  ops?: number;
  lockStaleMs?: number;
  snapshotEvery?: number;
  searchIndexing?: SearchIndexing;
  /** Wait for this file to exist before opening the store (so the process can be started ahead, while the store is still in use). */
  goFile?: string;
}

/**
 * One operation as reported: the op, the ids it touched, and what it wrote.
 * `search` and `store.reopen` write nothing the model tracks: a search is
 * checked by the worker itself (it throws when the result is wrong), a reopen
 * closes the store (writing the search index's segments and the projections'
 * snapshots, which a kill may cut) and opens it again.
 */
export type ChatOp =
  | { op: 'user.create'; userId: string }
  | { op: 'session.create'; userId: string; sessionId: string; title: string }
  | { op: 'session.rename'; sessionId: string; title: string }
  | { op: 'session.delete'; sessionId: string; purge: boolean }
  | { op: 'message.add'; sessionId: string; messageId: string; content: string; word: string }
  | { op: 'message.edit'; sessionId: string; messageId: string; content: string; word: string }
  | { op: 'message.delete'; sessionId: string; messageId: string }
  | { op: 'context.set'; sessionId: string; value: JsonObject }
  | { op: 'context.patch'; sessionId: string; value: JsonObject }
  | { op: 'context.snapshot'; sessionId: string; name: string }
  | { op: 'document.upload'; sessionId: string; documentId: string; variant: number }
  | { op: 'document.analyse'; documentId: string; summary: string }
  | { op: 'document.delete'; documentId: string }
  | { op: 'search'; userId: string; word: string; expect: string | null }
  | { op: 'store.reopen' };

export type ChatLine = ({ kind: 'intent' | 'ack'; seq: number } & ChatOp) | { kind: 'ready' | 'done' };

/** The bytes of document variant `n`: a few variants, so documents share blobs. */
export function documentBytes(n: number): Buffer {
  return Buffer.from(`document variant ${n}\n`.repeat(50 + n * 37));
}

/**
 * A word no other text of the store holds: `w`, the hex digits of `tag:n`
 * spelt with the letters a-p, and `q`. Only lower-case letters (one token,
 * no parts) ending in `q` (its English stem is itself), so a search for it
 * finds exactly the item holding it.
 */
export function uniqueWord(tag: string, n: number): string {
  const hex = Buffer.from(`${tag}:${n}`).toString('hex');
  return `w${[...hex].map((c) => String.fromCharCode(97 + Number.parseInt(c, 16))).join('')}q`;
}
