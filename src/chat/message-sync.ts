import type { MessageAdded, MessageEdited } from '../events/messages.js';
import { sessionStream } from '../events/streams.js';
import { type MessageDigest, digestChanges, messageDigester } from '../projections/message-digest.js';
import type { SessionMessages } from '../projections/messages.js';
import { assertId, assertInert, invalid } from '../kernel/validation.js';
import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import { type ChatCore, type ChatEvent, type WriteOptions, notFound, storedObject } from './chat-core.js';

/**
 * Saving as frameworks save: a message by id (upsert), a whole chat (sync, as
 * the AI SDK's saveChat hands it every turn), and cutting a chat short
 * (truncate, clear). Each is one atomic append decided against the messages
 * projection, whose digests (projections/message-digest.ts) say which
 * messages changed without reading their content from the log.
 */

export type UpsertOutcome = 'added' | 'edited' | 'unchanged';

/** What a sync changed, by message id; `unchanged` counts the messages it left as they were. */
export interface SyncResult {
  added: string[];
  edited: string[];
  deleted: string[];
  unchanged: number;
  position: number;
}

/** What the messages API lends: its view of the projections and its document check. */
export interface SavingContext {
  core: ChatCore;
  /** NOT_FOUND for an unknown or deleted session. */
  messages(sessionId: string): SessionMessages;
  /** The session stream's version. */
  version(sessionId: string): number;
  /** NOT_FOUND for a document the message names that it may not. */
  assertDocuments(sessionId: string, m: { attachments?: unknown; content?: unknown }, field: string): void;
}

/** A caller's message as it will be stored, and its digest. */
interface Given {
  message: MessageAdded;
  digest: MessageDigest;
}

/** A caller's message as it will be stored, its id required (without one there is nothing to match it by), checked and digested in one pass. */
function givenMessage(value: unknown, field: string): Given {
  // The id first (as storedObject checks ids), so a bad id is INVALID_ID whatever the JSON rule would say of the rest.
  const id = typeof value === 'object' && value !== null ? (value as { messageId?: unknown }).messageId : undefined;
  if (id !== undefined) assertId(id, `${field}.messageId`);
  const digester = messageDigester();
  const message = storedObject(value, field, undefined, digester) as unknown as MessageAdded;
  if (message.messageId === undefined) throw invalid(`${field}.messageId`, 'is required: a saved message is matched by its id');
  return { message, digest: digester.digest };
}

/** The edit that makes a stored message (digest `stored`) read as `m`: content always, the other fields only when they changed. */
function editTo(m: MessageAdded, stored: MessageDigest, given: MessageDigest): MessageEdited {
  const [, , attachments, metadata, extra] = digestChanges(stored, given);
  const edit: MessageEdited = { messageId: m.messageId, content: m.content };
  if (attachments) edit.attachments = m.attachments ?? [];
  if (metadata) edit.metadata = m.metadata ?? {};
  if (extra) edit.extra = m.extra ?? null;
  return edit;
}

function same(a: MessageDigest, b: MessageDigest): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Live message ids in the order of the conversation (their added events' stream versions). */
function liveInOrder(messages: SessionMessages): string[] {
  const ids = [...messages.digests.keys()];
  // The projection keeps them in that order already (a reused id is set again at the end): sorted only if not.
  for (let i = 1; i < ids.length; i++) {
    if (messages.added.get(ids[i - 1]!)! > messages.added.get(ids[i]!)!) return ids.sort((a, b) => messages.added.get(a)! - messages.added.get(b)!);
  }
  return ids;
}

/**
 * The events that make the session's live messages read as `list`, in its
 * order. A message of the list that is live, in order after the last one kept
 * and of the same role is kept (edited when its digest differs). Any other is
 * added at the end, and so is every message after it in the list (a message
 * can only be added last: one moved or put between others is deleted and
 * added again, as is one whose role changed). Live messages not kept are
 * deleted. Deletions come first, so an id deleted and added again in one sync
 * is a new message, the old one kept in the audit trail.
 */
function planSync(messages: SessionMessages, list: readonly Given[], fieldOf: (i: number) => string) {
  const kept: string[] = [];
  const added = new Set<string>();
  const edits: ChatEvent[] = [];
  const adds: ChatEvent[] = [];
  const result = { added: [] as string[], edited: [] as string[], deleted: [] as string[], unchanged: 0 };
  // The stream version of the last kept message's `message.added`: kept messages follow the conversation's order.
  let last = -1;
  let appending = false;
  let keep: Set<string> | undefined;
  for (let i = 0; i < list.length; i++) {
    const { message: m, digest: given } = list[i]!;
    const id = m.messageId;
    if (!appending) {
      const stored = messages.digests.get(id);
      const at = stored && messages.added.get(id)!;
      if (stored && at! > last && stored[0] === given[0]) {
        last = at!;
        kept.push(id);
        if (same(stored, given)) result.unchanged++;
        else {
          edits.push({ type: 'message.edited', data: editTo(m, stored, given), field: fieldOf(i) });
          result.edited.push(id);
        }
        continue;
      }
      appending = true;
    }
    // A kept id comes after every kept one before it, so a repeat is one added before, or one kept (live, and before `last`).
    const at = messages.digests.has(id) ? messages.added.get(id)! : undefined;
    const beforeLast = at !== undefined && at <= last;
    if (beforeLast) keep ??= new Set(kept);
    if (added.has(id) || (beforeLast && keep!.has(id))) {
      throw invalid(`${fieldOf(i)}.messageId`, `repeats the message ${JSON.stringify(id)}`);
    }
    added.add(id);
    adds.push({ type: 'message.added', data: m, field: fieldOf(i) });
    result.added.push(id);
  }
  const deletes: ChatEvent[] = [];
  // Every live message kept (a chat saved with messages added at its end) deletes nothing.
  if (kept.length < messages.digests.size) {
    keep ??= new Set(kept);
    for (const id of liveInOrder(messages)) {
      if (keep.has(id)) continue;
      deletes.push({ type: 'message.deleted', data: { messageId: id } });
      result.deleted.push(id);
    }
  }
  return { events: [...deletes, ...edits, ...adds], result };
}

export class MessageSaving {
  readonly #ctx: SavingContext;

  constructor(ctx: SavingContext) {
    this.#ctx = ctx;
  }

  /**
   * Adds the message when its id is not live (a deleted id starts a new
   * message), appends an edit when it reads differently, and appends nothing
   * when it reads the same. CONFLICT when its role differs from the stored
   * one's: an edit keeps the role (delete it first, or sync the list).
   */
  async upsert(sessionId: string, message: unknown, options?: WriteOptions): Promise<{ outcome: UpsertOutcome; messageId: string }> {
    assertId(sessionId, 'sessionId');
    assertInert(message, 'message');
    const { message: m, digest: given } = givenMessage(message, 'message');
    let outcome: UpsertOutcome = 'unchanged';
    await this.#ctx.core.change(sessionStream(sessionId), options, () => {
      const stored = this.#ctx.messages(sessionId).digests.get(m.messageId);
      outcome = stored === undefined ? 'added' : same(stored, given) ? 'unchanged' : 'edited';
      if (outcome === 'unchanged') return { events: [], expected: this.#ctx.version(sessionId) };
      if (stored !== undefined && stored[0] !== given[0]) {
        throw new FfcdbError(ErrorCode.CONFLICT, `message ${JSON.stringify(m.messageId)} has another role: an edit keeps the role (delete the message first, or sync the list)`, {
          field: 'message.role',
          messageId: m.messageId,
        });
      }
      this.#ctx.assertDocuments(sessionId, m, 'message');
      const event: ChatEvent =
        stored === undefined ? { type: 'message.added', data: m, field: 'message' } : { type: 'message.edited', data: editTo(m, stored, given), field: 'message' };
      return { events: [event], expected: this.#ctx.version(sessionId) };
    });
    return { outcome, messageId: m.messageId };
  }

  /** Makes the session's messages read as `list` (see planSync), in one atomic append; appends nothing when they already do. */
  async sync(sessionId: string, list: unknown, options?: WriteOptions): Promise<SyncResult> {
    assertId(sessionId, 'sessionId');
    assertInert(list, 'messages');
    if (!Array.isArray(list)) throw invalid('messages', 'must be an array of messages');
    const fieldOf = (i: number) => `messages[${i}]`;
    const given = list.map((m, i) => givenMessage(m, fieldOf(i)));
    let outcome = { added: [] as string[], edited: [] as string[], deleted: [] as string[], unchanged: 0 };
    const appended = await this.#ctx.core.change(sessionStream(sessionId), options, () => {
      const { events, result } = planSync(this.#ctx.messages(sessionId), given, fieldOf);
      for (const e of events) if (e.type !== 'message.deleted') this.#ctx.assertDocuments(sessionId, e.data as MessageEdited, e.field!);
      outcome = result;
      return { events, expected: this.#ctx.version(sessionId) };
    });
    return { ...outcome, position: appended?.lastPosition ?? this.#ctx.core.runner.position };
  }

  /** Deletes every message after `after` (in the order of the conversation), in one event. NOT_FOUND when `after` is not a live message. */
  truncate(sessionId: string, where: { after: string }, options?: WriteOptions): Promise<{ deleted: string[]; position: number }> {
    const { after } = storedObject(where, 'where', { after: 'where.after' });
    assertId(after, 'where.after');
    return this.#cut(sessionId, after, options);
  }

  /** Deletes every message of the session, in one event. */
  clear(sessionId: string, options?: WriteOptions): Promise<{ deleted: string[]; position: number }> {
    return this.#cut(sessionId, undefined, options);
  }

  async #cut(sessionId: string, after: string | undefined, options: WriteOptions | undefined): Promise<{ deleted: string[]; position: number }> {
    assertId(sessionId, 'sessionId');
    let deleted: string[] = [];
    const appended = await this.#ctx.core.change(sessionStream(sessionId), options, () => {
      const messages = this.#ctx.messages(sessionId);
      const live = liveInOrder(messages);
      let from = 0;
      if (after !== undefined) {
        from = live.indexOf(after) + 1;
        if (from === 0) throw notFound('message', after, 'where.after');
      }
      deleted = live.slice(from);
      const data = after === undefined ? { messageIds: deleted } : { after, messageIds: deleted };
      return { events: deleted.length === 0 ? [] : [{ type: 'message.truncated', data }], expected: this.#ctx.version(sessionId) };
    });
    return { deleted, position: appended?.lastPosition ?? this.#ctx.core.runner.position };
  }
}
