import { streamEntity } from '../events/streams.js';
import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import { type SqlDriver, type SqlValue, type TableDef, quote } from '../sql/driver.js';
import {
  CONTEXT,
  CONTEXT_CHANGES,
  CONTEXT_SNAPSHOTS,
  DOCUMENT_ANALYSES,
  DOCUMENTS,
  EVENTS,
  MESSAGE_ATTACHMENTS,
  MESSAGE_REVISIONS,
  MESSAGES,
  MIGRATION,
  PURGED_STREAMS,
  SESSION_TAGS,
  SESSIONS,
  TABLES,
  USERS,
} from './schema.js';
import type { BatchWrites } from './translate/batch-fold.js';

/**
 * Writes a batch the translator folded, in an order the foreign keys accept:
 * erases and replaced child rows first, then each table's changed rows
 * (upserts) and new rows (inserts), parents before children. The caller runs
 * it inside the batch's transaction, with the checkpoint.
 */
export async function applyWrites(driver: SqlDriver, writes: BatchWrites): Promise<void> {
  // Issued in order without waiting for each: a driver runs its calls in the order made, and a failure fails the transaction.
  const calls: Promise<unknown>[] = [];
  for (const { streamId } of writes.erase) calls.push(eraseRows(driver, streamId));
  calls.push(driver.deleteByKeys(SESSION_TAGS, ['session_id'], writes.replaceTags.map((id) => [id])));
  calls.push(driver.deleteByKeys(MESSAGE_ATTACHMENTS, ['session_id', 'message_id'], writes.replaceAttachments));
  for (const table of TABLES) {
    // Changed rows first: a document deleted and uploaded again in one batch must leave the live id free.
    const upserts = writes.upserts.get(table);
    if (upserts) calls.push(driver.upsert(table, upserts));
    const inserts = writes.inserts.get(table);
    if (inserts) calls.push(driver.insert(table, inserts));
  }
  await settleAll(calls);
}

/** Waits for every call, then rejects with the first failure (every call is settled, so none is left unheard). */
async function settleAll(calls: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(calls);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

/** Every row of a stream's entity and its events, children first. Only sessions and users have rows besides events. */
export async function eraseRows(driver: SqlDriver, streamId: string): Promise<void> {
  const t = (table: TableDef) => driver.dialect.table(table.name);
  const p = driver.dialect.param(1);
  const owner = streamEntity(streamId);
  const statements: string[] = [];
  if (owner?.kind === 'session') {
    const docs = `SELECT upload_position FROM ${t(DOCUMENTS)} WHERE session_id = ${p}`;
    for (const table of [MESSAGE_ATTACHMENTS, MESSAGE_REVISIONS, MESSAGES, SESSION_TAGS, CONTEXT_SNAPSHOTS, CONTEXT_CHANGES, CONTEXT]) {
      statements.push(`DELETE FROM ${t(table)} WHERE session_id = ${p}`);
    }
    statements.push(`DELETE FROM ${t(DOCUMENT_ANALYSES)} WHERE upload_position IN (${docs})`, `DELETE FROM ${t(DOCUMENTS)} WHERE session_id = ${p}`, `DELETE FROM ${t(SESSIONS)} WHERE session_id = ${p}`);
  } else if (owner?.kind === 'user') {
    const library = `session_id IS NULL AND user_id = ${p}`;
    statements.push(
      `DELETE FROM ${t(DOCUMENT_ANALYSES)} WHERE upload_position IN (SELECT upload_position FROM ${t(DOCUMENTS)} WHERE ${library})`,
      `DELETE FROM ${t(DOCUMENTS)} WHERE ${library}`,
      `DELETE FROM ${t(USERS)} WHERE user_id = ${p}`,
    );
  }
  await settleAll([...statements.map((sql) => driver.run(sql, [owner!.id])), driver.run(`DELETE FROM ${t(EVENTS)} WHERE stream_id = ${p}`, [streamId])]);
}

/** A purged stream's tombstone: its later events are not kept. */
export async function recordPurge(driver: SqlDriver, streamId: string, position: number): Promise<void> {
  await driver.upsert(PURGED_STREAMS, [[streamId, position]]);
}

export interface Checkpoint {
  position: number;
  eventPosition: number;
  eventId: string | null;
}

/**
 * Moves the checkpoint from `from` to `to` inside the current transaction, first
 * thing, so that the row lock orders concurrent migrations: one that finds the
 * checkpoint moved by another writer fails with CONFLICT instead of writing
 * the same events twice.
 */
export async function moveCheckpoint(driver: SqlDriver, from: number, to: Checkpoint, sweepPending: boolean | 'clear'): Promise<void> {
  const p = (n: number) => driver.dialect.param(n);
  const sweep = sweepPending === 'clear' ? `${quote('sweep_pending')} = ${p(5)}` : `${quote('sweep_pending')} = (${quote('sweep_pending')} OR ${p(5)})`;
  const params: SqlValue[] = [to.position, to.eventPosition, to.eventId, Date.now(), sweepPending === true, from];
  const changed = await driver.run(
    `UPDATE ${driver.dialect.table(MIGRATION.name)} SET position = ${p(1)}, event_position = ${p(2)}, event_id = ${p(3)}, updated_at = ${p(4)}, ${sweep} WHERE id = 1 AND position = ${p(6)}`,
    params,
  );
  if (changed !== 1) {
    throw new FfcdbError(ErrorCode.CONFLICT, `${driver.description}: another migration moved the checkpoint from ${from}; run one migration per database at a time`, { field: 'to', position: from });
  }
}
