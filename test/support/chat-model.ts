/**
 * What the acknowledged operations of chat-worker.ts children say a store must
 * hold, and the checks of a reopened store against it: through the chat API
 * (users, sessions, messages, context, documents and their bytes), through
 * search (each message's word), and the projections against the log. Every
 * check adds what it finds wrong to `problems` rather than stopping at the
 * first, so a long run reports them all.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ChatStore } from '../../src/chat/chat-store.js';
import { ErrorCode, isFfcdbError } from '../../src/kernel/errors.js';
import type { JsonValue } from '../../src/kernel/types.js';
import { mergePatch } from '../../src/projections/merge-patch.js';
import { type ChatLine, type ChatOp, documentBytes } from './chat-ops.js';

interface MessageModel {
  content: string;
  /** The word its text holds now, and those of the texts edits replaced. */
  word: string;
  pastWords: string[];
  deleted: boolean;
  /** A write on the message was in flight at a kill: its state is either. */
  uncertain: boolean;
}

interface SessionModel {
  userId: string;
  title: string;
  deleted: boolean;
  /** A write on the session itself (rename, delete) was in flight at a kill: its state is either. */
  uncertain: boolean;
  messages: Map<string, MessageModel>;
  countUncertain: boolean;
  context: JsonValue;
  changes: number;
  contextUncertain: boolean;
  snapshots: string[];
}

interface DocumentModel {
  sessionId: string;
  variant: number;
  deleted: boolean;
  analyses: number;
  uncertain: boolean;
}

/** What one child's report held. */
export interface Absorbed {
  /** Acknowledged writes (not searches or reopens). */
  writes: number;
  /** Searches the child did and checked itself. */
  searches: number;
  reopens: number;
  /** The operation in flight when the child died, if any. */
  inFlight?: ChatOp;
}

const READS = new Set<ChatOp['op']>(['search', 'store.reopen']);

export class ChatModel {
  readonly users = new Set<string>();
  readonly sessions = new Map<string, SessionModel>();
  readonly documents = new Map<string, DocumentModel>();

  /** Applies what a child reported: acknowledged operations, and uncertainty for the one in flight. */
  absorb(lines: ChatLine[], problems: string[]): Absorbed {
    const acked = new Set<number>();
    const out: Absorbed = { writes: 0, searches: 0, reopens: 0 };
    for (const l of lines) {
      if (l.kind !== 'ack') continue;
      acked.add(l.seq);
      if (l.op === 'search') out.searches++;
      else if (l.op === 'store.reopen') out.reopens++;
      else {
        this.apply(l);
        out.writes++;
      }
    }
    const pending = lines.filter((l): l is Extract<ChatLine, { kind: 'intent' }> => l.kind === 'intent' && !acked.has(l.seq));
    if (pending.length > 1) problems.push(`at most one operation was in flight, got ${pending.length}`);
    if (pending[0]) {
      this.unsure(pending[0]);
      out.inFlight = pending[0];
    }
    return out;
  }

  apply(o: ChatOp): void {
    const s = 'sessionId' in o ? this.sessions.get(o.sessionId) : undefined;
    switch (o.op) {
      case 'user.create':
        this.users.add(o.userId);
        return;
      case 'session.create':
        this.sessions.set(o.sessionId, { userId: o.userId, title: o.title, deleted: false, uncertain: false, messages: new Map(), countUncertain: false, context: {}, changes: 0, contextUncertain: false, snapshots: [] });
        return;
      case 'session.rename':
        s!.title = o.title;
        return;
      case 'session.delete':
        s!.deleted = true;
        for (const d of this.documents.values()) if (d.sessionId === o.sessionId) d.deleted = true;
        return;
      case 'message.add':
        s!.messages.set(o.messageId, { content: o.content, word: o.word, pastWords: [], deleted: false, uncertain: false });
        return;
      case 'message.edit': {
        const m = s!.messages.get(o.messageId)!;
        m.pastWords.push(m.word);
        m.content = o.content;
        m.word = o.word;
        return;
      }
      case 'message.delete':
        s!.messages.get(o.messageId)!.deleted = true;
        return;
      case 'context.set':
        s!.context = o.value;
        s!.changes++;
        return;
      case 'context.patch':
        s!.context = mergePatch(s!.context, o.value);
        s!.changes++;
        return;
      case 'context.snapshot':
        s!.snapshots.push(o.name);
        return;
      case 'document.upload':
        this.documents.set(o.documentId, { sessionId: o.sessionId, variant: o.variant, deleted: false, analyses: 0, uncertain: false });
        return;
      case 'document.analyse':
        this.documents.get(o.documentId)!.analyses++;
        return;
      case 'document.delete':
        this.documents.get(o.documentId)!.deleted = true;
        return;
      case 'search':
      case 'store.reopen':
        return;
    }
  }

  unsure(o: ChatOp): void {
    if (READS.has(o.op)) return;
    const s = 'sessionId' in o ? this.sessions.get(o.sessionId) : undefined;
    if (o.op === 'session.rename' || o.op === 'session.delete') {
      s!.uncertain = true;
      for (const d of this.documents.values()) if (d.sessionId === o.sessionId) d.uncertain = true;
    } else if (o.op === 'message.add' || o.op === 'message.delete' || o.op === 'message.edit') {
      s!.countUncertain = true;
      const m = s!.messages.get(o.messageId);
      if (m) m.uncertain = true;
    } else if (o.op === 'context.set' || o.op === 'context.patch' || o.op === 'context.snapshot') {
      s!.contextUncertain = true;
    } else if (o.op === 'document.analyse' || o.op === 'document.delete') {
      this.documents.get(o.documentId)!.uncertain = true;
    }
  }
}

/** The FfcdbError code `p` rejects with, or undefined when it resolves. */
async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (isFfcdbError(err)) return err.code;
    throw err;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Every projection agrees with a rebuild from the log, and reflects the head. */
export async function checkProjections(chat: ChatStore, where: string, problems: string[]): Promise<void> {
  const names = [...chat.projections.names].sort();
  if (!isDeepStrictEqual(names, ['context', 'documents', 'messages', 'sessions', 'users'])) problems.push(`${where}: projections ${names.join(', ')}`);
  for (const name of chat.projections.names) {
    const c = await chat.projections.compare(name);
    if (!c.identical) problems.push(`${where}: projection ${name} differs from a rebuild from the log:\n${c.differences.join('\n')}`);
  }
  const head = await chat.events.headPosition();
  if (chat.projections.position !== head) problems.push(`${where}: the projections reflect ${chat.projections.position}, not the head ${head}`);
}

/** Every acknowledged write reads back through the API; returns how many items were checked. */
export async function checkAcknowledged(chat: ChatStore, model: ChatModel, where: string, problems: string[]): Promise<number> {
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(`${where}: ${what}`);
  };
  let checked = 0;
  for (const userId of model.users) {
    expect((await chat.users.get(userId)).userId === userId, `user ${userId}`);
    checked++;
  }
  for (const [sessionId, s] of model.sessions) {
    if (s.uncertain) continue;
    const at = `session ${sessionId}`;
    if (s.deleted) {
      expect((await code(chat.sessions.get(sessionId))) === ErrorCode.NOT_FOUND, `${at} was deleted, but sessions.get finds it`);
      expect((await code(chat.messages.count(sessionId))) === ErrorCode.NOT_FOUND, `${at} was deleted, but messages.count finds it`);
      checked++;
      continue;
    }
    const got = await chat.sessions.get(sessionId);
    expect(got.title === s.title, `${at} title ${JSON.stringify(got.title)}, acknowledged ${JSON.stringify(s.title)}`);
    checked++;
    let live = 0;
    for (const [messageId, m] of s.messages) {
      if (!m.deleted) live++;
      if (m.uncertain) continue;
      if (m.deleted) expect((await code(chat.messages.get(sessionId, messageId))) === ErrorCode.NOT_FOUND, `${at} message ${messageId} was deleted, but messages.get finds it`);
      else {
        const content = (await chat.messages.get(sessionId, messageId)).content;
        expect(content === m.content, `${at} message ${messageId}: ${JSON.stringify(content)}, acknowledged ${JSON.stringify(m.content)}`);
      }
      checked++;
    }
    if (!s.countUncertain) {
      const count = (await chat.messages.count(sessionId)).count;
      expect(count === live, `${at} holds ${count} messages, acknowledged ${live}`);
    }
    if (!s.contextUncertain) {
      const ctx = await chat.context.get(sessionId);
      expect(ctx.version === s.changes, `${at} context version ${ctx.version}, acknowledged ${s.changes}`);
      expect(isDeepStrictEqual(ctx.context, s.context), `${at} context ${JSON.stringify(ctx.context)}, acknowledged ${JSON.stringify(s.context)}`);
      const names = (await chat.context.snapshots(sessionId)).snapshots.map((x) => x.name);
      expect(isDeepStrictEqual(names.sort(), [...s.snapshots].sort()), `${at} context snapshots ${names.join(', ')}, acknowledged ${s.snapshots.join(', ')}`);
      checked++;
    }
  }
  for (const [documentId, d] of model.documents) {
    if (d.uncertain) continue;
    const at = `document ${documentId}`;
    if (d.deleted) {
      expect((await code(chat.documents.get(documentId))) === ErrorCode.NOT_FOUND, `${at} was deleted, but documents.get finds it`);
    } else {
      const bytes = documentBytes(d.variant);
      const doc = await chat.documents.get(documentId);
      expect(doc.size === bytes.length, `${at} size ${doc.size}, acknowledged ${bytes.length}`);
      expect((await readAll(await chat.documents.open(documentId))).equals(bytes), `${at}: documents.open streams other bytes than were uploaded`);
      const analyses = (await chat.documents.analyses(documentId)).analyses.length;
      expect(analyses === d.analyses, `${at} has ${analyses} analyses, acknowledged ${d.analyses}`);
    }
    checked++;
  }
  return checked;
}

/**
 * Search agrees with the acknowledged messages: a search for the word of a
 * live message finds that message and nothing else; the words of deleted
 * messages, of messages in deleted sessions and of texts an edit replaced find
 * nothing. Returns how many searches were checked.
 */
export async function checkSearch(chat: ChatStore, model: ChatModel, where: string, problems: string[]): Promise<number> {
  let searches = 0;
  const search = async (userId: string, word: string, expected: string | null, why: string) => {
    const page = await chat.search(userId, word);
    searches++;
    const found = page.items.map((h) => `${h.kind} ${h.itemId}`);
    const want = expected === null ? [] : [`message ${expected}`];
    if (!isDeepStrictEqual(found, want) || page.total !== want.length) problems.push(`${where}: a search for ${word} (${why}) found [${found.join(', ')}] (total ${page.total}), expected [${want.join(', ')}]`);
  };
  for (const [sessionId, s] of model.sessions) {
    if (s.uncertain) continue;
    for (const [messageId, m] of s.messages) {
      if (m.uncertain) continue;
      const gone = s.deleted ? `its session ${sessionId} was deleted` : m.deleted ? 'the message was deleted' : undefined;
      await search(s.userId, m.word, gone === undefined ? messageId : null, gone ?? `message ${messageId}`);
      for (const w of m.pastWords) await search(s.userId, w, null, `an edit of ${messageId} replaced it`);
    }
  }
  return searches;
}
