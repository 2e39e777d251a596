/** What test/support/chat-worker.ts is told and what it reports (shared with the tests that read its reports). */
import type { JsonObject } from '../../src/events/fields.js';

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
}

/** One write as reported: the op, the ids it touched, and what it wrote. */
export type ChatOp =
  | { op: 'user.create'; userId: string }
  | { op: 'session.create'; sessionId: string; title: string }
  | { op: 'session.rename'; sessionId: string; title: string }
  | { op: 'session.delete'; sessionId: string; purge: boolean }
  | { op: 'message.add'; sessionId: string; messageId: string; content: string }
  | { op: 'message.edit'; sessionId: string; messageId: string; content: string }
  | { op: 'message.delete'; sessionId: string; messageId: string }
  | { op: 'context.set'; sessionId: string; value: JsonObject }
  | { op: 'context.patch'; sessionId: string; value: JsonObject }
  | { op: 'context.snapshot'; sessionId: string; name: string }
  | { op: 'document.upload'; sessionId: string; documentId: string; variant: number }
  | { op: 'document.analyse'; documentId: string; summary: string }
  | { op: 'document.delete'; documentId: string };

export type ChatLine = ({ kind: 'intent' | 'ack'; seq: number } & ChatOp) | { kind: 'ready' | 'done' };

/** The bytes of document variant `n`: a few variants, so documents share blobs. */
export function documentBytes(n: number): Buffer {
  return Buffer.from(`document variant ${n}\n`.repeat(50 + n * 37));
}
