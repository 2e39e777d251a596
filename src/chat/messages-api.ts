import { monotonicFactory } from 'ulid';
import { type CatalogEvent, upcast } from '../events/catalog.js';
import { object } from '../events/fields.js';
import type { Attachment, ContentPart, Extra, MessageAdded, MessageEdited, MessageMetadata, Role } from '../events/messages.js';
import { sessionStream } from '../events/streams.js';
import { documentsProjection } from '../projections/documents.js';
import { type SessionMessages, messagesProjection } from '../projections/messages.js';
import { sessionsProjection } from '../projections/sessions.js';
import { assertId, assertInert, assertPositiveInteger, invalid } from '../kernel/validation.js';
import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import { type ChatCore, type ReadOptions, type WriteOptions, assertOptions, notFound, payload, storedObject } from './chat-core.js';
import { createdAt } from './created-at.js';
import { type InlineUploads, inlineDocumentEvents, recordInline, recordedWith, restoreInline, storeInline } from './inline-bytes.js';
import { type Page, type PageOptions, decodeCursor, encodeCursor, pageDirection, pageLimit } from './page.js';
import type { Reflected } from './users-api.js';
import { MessageSaving, type SyncResult, type UpsertOutcome } from './message-sync.js';

export type { ContentPart, SyncResult, UpsertOutcome };

/** A message as it reads now (or at an earlier revision). */
export interface Message {
  messageId: string;
  sessionId: string;
  role: Role;
  content: string | ContentPart[];
  attachments: Attachment[];
  metadata: MessageMetadata;
  /** What the message holds besides the typed fields, as given (a framework's own fields: see message-shapes); absent when none was given. */
  extra?: Extra;
  /** The `createdAt` it was added with (history imported), else the time it was added. */
  createdAt: number;
  /** Time of the revision shown (`createdAt` for revision 1). */
  updatedAt: number;
  /** 1 for the message as added, one more per edit. */
  revision: number;
}

export interface NewMessage {
  /** Generated (a ULID) when left out. */
  messageId?: string;
  role: Role;
  content: string | ContentPart[];
  attachments?: Attachment[];
  metadata?: MessageMetadata;
  extra?: Extra;
  /** For history imported: when the message was written (an ISO 8601 string, a Date, or ms since the epoch; 1970 to 9999). Reads, listings, search and SQL use it; the event's own timestamp stays the time of the write. */
  createdAt?: string | Date | number;
}

/** The new content; attachments, metadata and extra left out stay as they were. */
export type MessageChanges = Omit<MessageEdited, 'messageId'>;

/** How reads give back an image or file part whose bytes came inline. */
export interface InlineReadOptions {
  /** true (default): as they came (the same bytes, or the same data: URL); false: as the document reference the store keeps (`documentId` and `inline`). */
  inlineDocuments?: boolean;
}

export interface MessageListOptions extends PageOptions, InlineReadOptions {
  /** `asc` (default): oldest first; `desc`: newest first (the last N messages of a chat). */
  order?: 'asc' | 'desc';
  waitFor?: number;
}

const nextId = monotonicFactory();
const ADDED = ['message.added'];

/**
 * Messages live in their session's stream; the messages projection knows
 * where, so reads fetch content straight from the log, page by page.
 */
export class MessagesApi {
  readonly #core: ChatCore;
  readonly #saving: MessageSaving;

  constructor(core: ChatCore) {
    this.#core = core;
    this.#saving = new MessageSaving({
      core,
      messages: (sessionId) => this.#messages(sessionId),
      version: (sessionId) => this.#version(sessionId),
      assertDocuments: (sessionId, m, field) => this.#assertDocuments(sessionId, m, field),
    });
  }

  /**
   * Saves one message by its id (required): adds it when the id is not live (a
   * deleted id makes a new message), appends a revision when it reads
   * differently, does nothing when it reads the same; resolves with which it
   * did and the message as it reads now. CONFLICT when its role changed.
   */
  async upsert(sessionId: string, message: NewMessage & { messageId: string }, options?: WriteOptions): Promise<{ outcome: UpsertOutcome; message: Message; position: number }> {
    const { outcome, messageId } = await this.#saving.upsert(sessionId, message, options);
    const { position, ...saved } = await this.get(sessionId, messageId);
    return { outcome, message: saved, position };
  }

  /**
   * Makes the session's messages read as `messages`, in that order (the whole
   * chat, as the AI SDK's saveChat hands it): adds, edits and deletes what
   * differs in one atomic append, comparing digests the projection keeps
   * rather than reading unchanged messages. See README, "Saving a whole chat".
   */
  sync(sessionId: string, messages: (NewMessage & { messageId: string })[], options?: WriteOptions): Promise<SyncResult> {
    return this.#saving.sync(sessionId, messages, options);
  }

  /** Deletes every message after `where.after`, in one event (regenerate, edit and resend). */
  truncate(sessionId: string, where: { after: string }, options?: WriteOptions): Promise<{ deleted: string[]; position: number }> {
    return this.#saving.truncate(sessionId, where, options);
  }

  /** Deletes every message of the session, in one event. */
  clear(sessionId: string, options?: WriteOptions): Promise<{ deleted: string[]; position: number }> {
    return this.#saving.clear(sessionId, options);
  }

  /** Adds one message, or several in one atomic append. NOT_FOUND for an unknown session or attached document; CONFLICT for a message id in use. */
  add(sessionId: string, message: NewMessage, options?: WriteOptions): Promise<Reflected<Message>>;
  add(sessionId: string, messages: NewMessage[], options?: WriteOptions): Promise<Reflected<Message>[]>;
  async add(sessionId: string, input: NewMessage | NewMessage[], options?: WriteOptions): Promise<Reflected<Message> | Reflected<Message>[]> {
    assertId(sessionId, 'sessionId');
    assertInert(input, 'messages');
    const list = Array.isArray(input) ? input : [input];
    if (list.length === 0) throw invalid('messages', 'must hold at least one message');
    const data: MessageAdded[] = list.map((m, i) => messageAddedData(m, Array.isArray(input) ? `messages[${i}]` : 'message'));
    const stream = sessionStream(sessionId);
    const fieldOf = (i: number) => (Array.isArray(input) ? `messages[${i}]` : 'message');
    const uploads = await storeInline(this.#core, data.map((m, i) => ({ payload: m, field: fieldOf(i) })));
    let appended = 0;
    const write = () =>
      this.#core.command(stream, options, () => {
        const documents = uploads ? inlineDocumentEvents(this.#core, sessionId, uploads) : [];
        const messages = this.#messages(sessionId);
        const seen = new Set<string>();
        data.forEach((m, i) => {
          const field = fieldOf(i);
          // A deleted message's id may be used again: a new message, the deleted one kept in its history.
          if (messages.digests.has(m.messageId) || seen.has(m.messageId)) {
            throw new FfcdbError(ErrorCode.CONFLICT, `message ${JSON.stringify(m.messageId)} already exists in session ${sessionId}`, { field: `${field}.messageId`, messageId: m.messageId });
          }
          seen.add(m.messageId);
          this.#assertDocuments(sessionId, m, field, uploads);
        });
        appended = documents.length + data.length;
        return { events: [...documents, ...data.map((d, i) => ({ type: 'message.added' as const, data: d, field: fieldOf(i) }))], expected: this.#version(sessionId) };
      });
    const result = uploads ? await recordInline(this.#core, uploads, write) : await write();
    // Read back through the feed, which points straight at the frame just written.
    const added = (await this.#core.events.readAll({ fromPosition: result.firstPosition, limit: appended })).events.filter((e) => e.type === 'message.added');
    const position = this.#core.runner.position;
    const out: Reflected<Message>[] = [];
    for (const e of added) out.push({ ...(await this.#shown(messageFrom(sessionId, upcast(e) as CatalogEvent & { type: 'message.added' }), true)), position });
    return Array.isArray(input) ? out : out[0]!;
  }

  /** The message as it reads now, or at `revision` (1: as added). NOT_FOUND when missing or deleted. */
  async get(sessionId: string, messageId: string, options: ReadOptions & InlineReadOptions & { revision?: number } = {}): Promise<Reflected<Message>> {
    assertId(sessionId, 'sessionId');
    assertId(messageId, 'messageId');
    assertOptions(options);
    if (options.revision !== undefined) assertPositiveInteger(options.revision, 'revision', 1);
    const position = await this.#core.reflect(options);
    const { versions } = this.#located(sessionId, messageId);
    if (options.revision !== undefined && options.revision > versions.length) {
      throw new FfcdbError(ErrorCode.NOT_FOUND, `message ${messageId} has ${versions.length} revisions, not ${options.revision}`, { field: 'revision', revision: options.revision });
    }
    const revisions = await this.#revisions(sessionId, versions.slice(0, options.revision ?? versions.length));
    return { ...(await this.#shown(revisions.at(-1)!, inlineOption(options))), position };
  }

  /**
   * Every revision of a message, oldest first; `earlier`: the revisions of each
   * earlier message of this id, deleted before the id was used again, oldest first.
   */
  async history(sessionId: string, messageId: string, options?: ReadOptions & InlineReadOptions): Promise<{ revisions: Message[]; earlier: Message[][]; position: number }> {
    assertId(sessionId, 'sessionId');
    assertId(messageId, 'messageId');
    const position = await this.#core.reflect(options);
    const inline = inlineOption(options);
    const shown = async (versions: number[]) => {
      const out: Message[] = [];
      for (const r of await this.#revisions(sessionId, versions)) out.push(await this.#shown(r, inline));
      return out;
    };
    const revisions = await shown(this.#located(sessionId, messageId).versions);
    const earlier: Message[][] = [];
    for (const versions of this.#messages(sessionId).retired.get(messageId) ?? []) earlier.push(await shown(versions));
    return { revisions, earlier, position };
  }

  /** A page of a session's messages (deleted ones left out), read from the log with constant memory. */
  async list(sessionId: string, options: MessageListOptions = {}): Promise<Page<Message>> {
    assertId(sessionId, 'sessionId');
    object(options, 'options');
    const limit = pageLimit(options.limit);
    const inline = inlineOption(options);
    const direction = pageDirection(options);
    const order = options.order ?? 'asc';
    if (order !== 'asc' && order !== 'desc') throw invalid('order', `must be 'asc' or 'desc'`);
    const cursor = direction ? (decodeCursor(direction === 'after' ? options.after : options.before, direction, ['number'])[0] as number) : undefined;
    const position = await this.#core.reflect(options);
    const messages = this.#messages(sessionId);
    const forward = order === 'asc' ? direction !== 'before' : direction === 'before';
    const page: Page<Message> = { items: [], hasMore: false, position };
    const fromVersion = cursor === undefined ? undefined : forward ? cursor + 1 : cursor - 1;
    if (fromVersion === 0) return page;
    const read = { direction: forward ? ('forward' as const) : ('backward' as const), types: ADDED, ...(fromVersion === undefined ? {} : { fromVersion }) };
    for await (const e of this.#core.events.streamEvents(sessionStream(sessionId), read)) {
      // The log may already hold events the projections have not reached: the page shows what `position` reflects.
      if (e.position > position) {
        if (forward) break;
        continue;
      }
      const id = (e.data as { messageId: string }).messageId;
      if (messages.added.get(id) !== e.version || messages.deleted.has(id)) continue;
      if (page.items.length === limit) {
        page.hasMore = true;
        break;
      }
      page.items.push(await this.#shown(await this.#current(sessionId, upcast(e) as CatalogEvent & { type: 'message.added' }, messages), inline));
    }
    if (direction === 'before') page.items.reverse();
    if (page.items.length > 0) {
      page.prevCursor = encodeCursor([messages.added.get(page.items[0]!.messageId)!]);
      page.nextCursor = encodeCursor([messages.added.get(page.items.at(-1)!.messageId)!]);
    }
    return page;
  }

  /** A new revision of the message. NOT_FOUND when it is missing or deleted. */
  async edit(sessionId: string, messageId: string, changes: MessageChanges, options?: WriteOptions): Promise<Reflected<Message>> {
    assertId(sessionId, 'sessionId');
    assertId(messageId, 'messageId');
    const data = { messageId, ...(payload(changes, 'changes', ['messageId']) as unknown as MessageChanges) };
    const uploads = await storeInline(this.#core, [{ payload: data, field: 'changes' }]);
    const write = () =>
      this.#core.command(sessionStream(sessionId), options, () => {
        const documents = uploads ? inlineDocumentEvents(this.#core, sessionId, uploads) : [];
        this.#located(sessionId, messageId);
        this.#assertDocuments(sessionId, data, 'changes', uploads);
        return { events: [...documents, { type: 'message.edited', data, field: 'changes' }], expected: this.#version(sessionId) };
      });
    await (uploads ? recordInline(this.#core, uploads, write) : write());
    return this.get(sessionId, messageId);
  }

  /** Reads stop returning the message; its revisions stay in the log. NOT_FOUND when missing or already deleted. */
  async delete(sessionId: string, messageId: string, options?: WriteOptions): Promise<{ messageId: string; position: number }> {
    assertId(sessionId, 'sessionId');
    assertId(messageId, 'messageId');
    const result = await this.#core.command(sessionStream(sessionId), options, () => {
      this.#located(sessionId, messageId);
      return { events: [{ type: 'message.deleted', data: { messageId } }], expected: this.#version(sessionId) };
    });
    return { messageId, position: result.lastPosition };
  }

  async count(sessionId: string, options?: ReadOptions): Promise<{ count: number; position: number }> {
    assertId(sessionId, 'sessionId');
    const position = await this.#core.reflect(options);
    return { count: this.#messages(sessionId).count, position };
  }

  #messages(sessionId: string): SessionMessages {
    const messages = this.#core.state(messagesProjection).sessions.get(sessionId);
    if (!messages) throw notFound('session', sessionId, 'sessionId');
    return messages;
  }

  #version(sessionId: string): number {
    return this.#core.state(sessionsProjection).sessions.get(sessionId)!.version;
  }

  /** The stream versions of a live message's revisions. */
  #located(sessionId: string, messageId: string): { versions: number[] } {
    const messages = this.#messages(sessionId);
    const added = messages.added.get(messageId);
    if (added === undefined || messages.deleted.has(messageId)) throw notFound('message', messageId, 'messageId');
    return { versions: [added, ...(messages.edits.get(messageId) ?? [])] };
  }

  /** Attached or referenced documents must be live and belong to the session or its user's library. */
  #assertDocuments(sessionId: string, m: { attachments?: unknown; content?: unknown }, field: string, uploads?: InlineUploads): void {
    const documents = this.#core.state(documentsProjection).documents;
    const userId = this.#core.state(sessionsProjection).sessions.get(sessionId)!.userId;
    const check = (documentId: unknown, at: string) => {
      // A malformed id is INVALID_ID, as the catalog would say, not a document that does not exist.
      assertId(documentId, at);
      const doc = documents.get(documentId);
      if (!doc || doc.userId !== userId || (doc.sessionId !== undefined && doc.sessionId !== sessionId)) throw notFound('document', documentId, at);
    };
    if (Array.isArray(m.attachments)) {
      m.attachments.forEach((a, i) => {
        check((a as Attachment | undefined)?.documentId, `${field}.attachments[${i}].documentId`);
      });
    }
    if (Array.isArray(m.content)) {
      m.content.forEach((p: unknown, i) => {
        if (p && typeof p === 'object' && 'documentId' in p && !recordedWith(uploads, p.documentId)) check(p.documentId, `${field}.content[${i}].documentId`);
      });
    }
  }

  /** The message as a read shows it: inline parts as they came, unless `inlineDocuments: false`. */
  async #shown(message: Message, inline: boolean): Promise<Message> {
    if (!inline) return message;
    const content = await restoreInline(this.#core, message.content);
    return content === message.content ? message : { ...message, content };
  }

  /** The message as of each of `versions` (its added event, then edits). */
  async #revisions(sessionId: string, versions: readonly number[]): Promise<Message[]> {
    const out: Message[] = [];
    for (const v of versions) {
      const e = await this.#eventAt(sessionId, v);
      if (e.type === 'message.added') out.push(messageFrom(sessionId, e));
      else if (e.type === 'message.edited') out.push(edited(out.at(-1)!, e));
    }
    return out;
  }

  async #current(sessionId: string, added: CatalogEvent & { type: 'message.added' }, messages: SessionMessages): Promise<Message> {
    let message = messageFrom(sessionId, added);
    for (const v of messages.edits.get(added.data.messageId) ?? []) {
      const e = await this.#eventAt(sessionId, v);
      if (e.type === 'message.edited') message = edited(message, e);
    }
    return message;
  }

  async #eventAt(sessionId: string, version: number): Promise<CatalogEvent> {
    const [e] = await this.#core.events.readStream(sessionStream(sessionId), { fromVersion: version, limit: 1 });
    return upcast(e!);
  }
}

/** The message.added payload of a new message (its id generated when left out, createdAt in ms), as it will be stored. */
export function messageAddedData(message: NewMessage, field: string): MessageAdded {
  const { messageId = nextId(), createdAt: given, ...rest } = storedObject(message, field, { messageId: `${field}.messageId` }) as unknown as NewMessage;
  assertId(messageId, `${field}.messageId`);
  const at = createdAt(given, `${field}.createdAt`);
  return at === undefined ? { messageId, ...rest } : { messageId, ...rest, createdAt: at };
}

/** Whether a read gives inline parts back as they came (`inlineDocuments`, default true). */
function inlineOption(options: InlineReadOptions | undefined): boolean {
  const inline = options?.inlineDocuments ?? true;
  if (typeof inline !== 'boolean') throw invalid('inlineDocuments', 'must be true or false');
  return inline;
}

/** Events a backend reads are the reader's own objects (the backend contract), so their data is handed out as it is. */
function messageFrom(sessionId: string, e: CatalogEvent & { type: 'message.added' }): Message {
  const { messageId, role, content, attachments = [], metadata = {}, extra, createdAt = e.timestamp } = e.data;
  const message: Message = { messageId, sessionId, role, content, attachments, metadata, createdAt, updatedAt: createdAt, revision: 1 };
  if (extra !== undefined) message.extra = extra;
  return message;
}

function edited(before: Message, e: CatalogEvent & { type: 'message.edited' }): Message {
  const { content, attachments, metadata, extra = before.extra } = e.data;
  const { extra: _, ...rest } = before;
  return {
    ...rest,
    content,
    attachments: attachments ?? before.attachments,
    metadata: metadata ?? before.metadata,
    // null: the edit removed the extra.
    ...(extra != null && { extra }),
    updatedAt: e.timestamp,
    revision: before.revision + 1,
  };
}
