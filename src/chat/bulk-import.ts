import { sessionStream } from '../events/streams.js';
import type { MessageAdded } from '../events/messages.js';
import { documentsProjection } from '../projections/documents.js';
import { usersProjection } from '../projections/users.js';
import { ErrorCode, FfcdbError, isFfcdbError } from '../kernel/errors.js';
import { assertId, assertInert, assertPositiveInteger, invalid } from '../kernel/validation.js';
import { type ChatCore, type ChatEvent, type WriteOptions, assertOptions, notFound } from './chat-core.js';
import { inlineDocumentEvents, recordInline, recordedWith, storeInline } from './inline-bytes.js';
import { type NewMessage, messageAddedData } from './messages-api.js';
import { type NewSession, sessionCreatedData } from './sessions-api.js';

/** A session to import with its messages, in order (each may carry its `createdAt`). */
export interface ImportedSession extends NewSession {
  messages?: NewMessage[];
}

export interface ImportOptions extends WriteOptions {
  /** Sessions written at once (default 64): their appends share the log's group commits. */
  concurrency?: number;
}

export interface ImportReport {
  sessions: number;
  messages: number;
  /** The position the projections reflect once the last session is written. */
  position: number;
}

const DEFAULT_CONCURRENCY = 64;
const MAX_MESSAGES_PER_SESSION = 10_000;

/**
 * The bulk path for history imports (an archive of many short threads): each
 * session is one append of its session.created and message.added events
 * (atomic: a session is written whole or not at all), and many sessions are
 * written at once, so that the log commits them in few group commits. Nothing
 * is read back. The import as a whole is not atomic: it stops at the first
 * session refused (after the sessions in flight) and throws that error, naming
 * the session by its place (`sessions[12].messages[3].content`); the sessions
 * written before it stay.
 */
export class ImportApi {
  readonly #core: ChatCore;

  constructor(core: ChatCore) {
    this.#core = core;
  }

  /** Imports every session of `input` (an array, any iterable, or an async iterable). */
  async sessions(input: Iterable<ImportedSession> | AsyncIterable<ImportedSession>, options: ImportOptions = {}): Promise<ImportReport> {
    assertOptions(options);
    const { concurrency = DEFAULT_CONCURRENCY, ...write } = options;
    assertPositiveInteger(concurrency, 'concurrency', 1);
    assertInert(input, 'sessions');
    if (input === null || typeof input !== 'object' || !(Symbol.iterator in input || Symbol.asyncIterator in input)) {
      throw invalid('sessions', 'must be an iterable or async iterable of sessions');
    }
    const report: ImportReport = { sessions: 0, messages: 0, position: 0 };
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    let index = 0;
    for await (const session of input) {
      if (failure) break;
      const i = index++;
      const p = this.#one(session, `sessions[${i}]`, write).then(
        (messages) => {
          report.sessions++;
          report.messages += messages;
        },
        (error: unknown) => {
          failure ??= { error };
        },
      );
      const tracked = p.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure) throw failure.error;
    report.position = this.#core.runner.position;
    return report;
  }

  /** One session and its messages in one append; resolves to the number of messages. */
  async #one(session: ImportedSession, field: string, options: WriteOptions): Promise<number> {
    const { messages: given = [], ...fields } = (session ?? {}) as ImportedSession;
    if (!Array.isArray(given)) throw invalid(`${field}.messages`, 'must be an array of messages');
    if (given.length > MAX_MESSAGES_PER_SESSION) throw invalid(`${field}.messages`, `must hold at most ${MAX_MESSAGES_PER_SESSION} messages (add more with chat.messages.add)`);
    const { sessionId, data } = sessionCreatedData(fields, field);
    const messages: MessageAdded[] = given.map((m, j) => messageAddedData(m, `${field}.messages[${j}]`));
    const seen = new Set<string>();
    messages.forEach((m, j) => {
      if (seen.has(m.messageId)) throw new FfcdbError(ErrorCode.CONFLICT, `message ${JSON.stringify(m.messageId)} is given twice`, { field: `${field}.messages[${j}].messageId`, messageId: m.messageId });
      seen.add(m.messageId);
    });
    const uploads = await storeInline(
      this.#core,
      messages.map((m, j) => ({ payload: m, field: `${field}.messages[${j}]` })),
    );
    const write = () =>
      this.#core.command(sessionStream(sessionId), options, () => {
        if (!this.#core.state(usersProjection).has(data.userId)) throw notFound('user', data.userId, `${field}.userId`);
        const documents = uploads ? inlineDocumentEvents(this.#core, sessionId, uploads) : [];
        messages.forEach((m, j) => {
          this.#assertLibraryDocuments(data.userId, m, `${field}.messages[${j}]`, (id) => recordedWith(uploads, id));
        });
        const events: ChatEvent[] = [
          { type: 'session.created', data, field },
          ...documents,
          ...messages.map((m, j): ChatEvent => ({ type: 'message.added', data: m, field: `${field}.messages[${j}]` })),
        ];
        return { events, expected: 'no_stream' };
      });
    try {
      await (uploads ? recordInline(this.#core, uploads, write) : write());
    } catch (err) {
      throw isFfcdbError(err, ErrorCode.CONFLICT) && err.details.field === undefined
        ? new FfcdbError(ErrorCode.CONFLICT, `session ${JSON.stringify(sessionId)} already exists`, { field: `${field}.sessionId`, sessionId }, { cause: err })
        : err;
    }
    return messages.length;
  }

  /** A new session can name only documents of its user's library (and those its own inline bytes make). */
  #assertLibraryDocuments(userId: string, m: MessageAdded, field: string, recorded: (documentId: string) => boolean): void {
    const documents = this.#core.state(documentsProjection).documents;
    const check = (documentId: string, at: string) => {
      if (recorded(documentId)) return;
      assertId(documentId, at);
      const doc = documents.get(documentId);
      if (!doc || doc.userId !== userId || doc.sessionId !== undefined) throw notFound('document', documentId, at);
    };
    m.attachments?.forEach((a, i) => {
      check(a.documentId, `${field}.attachments[${i}].documentId`);
    });
    if (Array.isArray(m.content)) {
      m.content.forEach((p, i) => {
        if ('documentId' in p && typeof p.documentId === 'string') check(p.documentId, `${field}.content[${i}].documentId`);
      });
    }
  }
}
