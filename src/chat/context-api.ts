import { type CatalogEvent, upcast } from '../events/catalog.js';
import { type JsonObject, jsonObject } from '../events/fields.js';
import { EVENT_LIMITS } from '../events/limits.js';
import { sessionStream } from '../events/streams.js';
import { type ContextChange, type ContextSnapshotRef, type SessionContext, applyContextChange, contextProjection } from '../projections/context.js';
import { assertMergedKeys } from '../projections/merge-patch.js';
import { sessionsProjection } from '../projections/sessions.js';
import { assertId, assertInert, assertPositiveInteger, describe, invalid } from '../kernel/validation.js';
import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import { type ChatCore, type ChatEvent, type ReadOptions, type WriteOptions, assertOptions, detached, notFound } from './chat-core.js';
import { pageLimit } from './page.js';

export type { ContextChange, ContextSnapshotRef };

/** The context as of a change: `version` counts the changes applied (0: none yet, the empty object). */
export interface ContextValue {
  sessionId: string;
  context: JsonObject;
  version: number;
  /** Time of the change that made it (absent at version 0). */
  at?: number;
  /** The global position the read reflects. */
  position: number;
}

/** Time travel: the context after its Nth change, as it stood at a time, or as a named snapshot recorded it. */
export type ContextAsOf = { version: number } | { time: number | Date } | { snapshot: string };

/** A change with what it did: the whole context (`set`) or the merge patch (`patch`). */
export interface ContextHistoryEntry extends ContextChange {
  value: JsonObject;
}

type ChangeEvent = CatalogEvent & { type: 'context.set' | 'context.patched' };
const CHANGES = ['context.set', 'context.patched'];

/**
 * The situational context of a session: a JSON object the app shapes. Every
 * change is an event, so any earlier value can be rebuilt: from the last
 * `set` at or before it, applying the patches after.
 */
export class ContextApi {
  readonly #core: ChatCore;

  constructor(core: ChatCore) {
    this.#core = core;
  }

  /** Replaces the whole context. */
  set(sessionId: string, context: JsonObject, options?: WriteOptions): Promise<ContextValue> {
    return this.#change(sessionId, options, { type: 'context.set', data: { context }, field: '' });
  }

  /** Applies an RFC 7386 merge patch: objects merge, null removes a key, anything else replaces. */
  patch(sessionId: string, patch: JsonObject, options?: WriteOptions): Promise<ContextValue> {
    return this.#change(sessionId, options, { type: 'context.patched', data: { patch }, field: '' });
  }

  /** The current context, or an earlier one with `asOf`. */
  async get(sessionId: string, options: ReadOptions & { asOf?: ContextAsOf } = {}): Promise<ContextValue> {
    assertId(sessionId, 'sessionId');
    assertOptions(options);
    const position = await this.#core.reflect(options);
    const context = this.#context(sessionId);
    if (options.asOf === undefined) return this.#value(sessionId, detached(context.current), context.history.length, position);
    const version = this.#versionOf(context, options.asOf);
    return this.#value(sessionId, await this.#rebuild(sessionId, context.history, version), version, position);
  }

  /** Names the context as it stands now. CONFLICT when the name is taken. */
  async snapshot(sessionId: string, name: string, options?: WriteOptions): Promise<ContextSnapshotRef & { position: number }> {
    assertId(sessionId, 'sessionId');
    assertId(name, 'name');
    const result = await this.#core.command(sessionStream(sessionId), options, () => {
      if (this.#context(sessionId).snapshots.has(name)) {
        throw new FfcdbError(ErrorCode.CONFLICT, `session ${sessionId} already has a context snapshot named ${JSON.stringify(name)}`, { field: 'name', name });
      }
      return { events: [{ type: 'context.snapshotted', data: { name } }], expected: this.#sessionVersion(sessionId) };
    });
    return { ...this.#context(sessionId).snapshots.get(name)!, position: result.lastPosition };
  }

  async snapshots(sessionId: string, options?: ReadOptions): Promise<{ snapshots: ContextSnapshotRef[]; position: number }> {
    assertId(sessionId, 'sessionId');
    const position = await this.#core.reflect(options);
    return { snapshots: detached([...this.#context(sessionId).snapshots.values()]), position };
  }

  /** The changes from `fromVersion` (default 1), oldest first, each with what it did, read from the log. */
  async history(sessionId: string, options: ReadOptions & { fromVersion?: number; limit?: number } = {}): Promise<{ changes: ContextHistoryEntry[]; hasMore: boolean; position: number }> {
    assertId(sessionId, 'sessionId');
    assertOptions(options);
    const from = options.fromVersion ?? 1;
    assertPositiveInteger(from, 'fromVersion', 1);
    const limit = pageLimit(options.limit, 100);
    const position = await this.#core.reflect(options);
    const { history } = this.#context(sessionId);
    const wanted = history.slice(from - 1, from - 1 + limit);
    const changes: ContextHistoryEntry[] = [];
    if (wanted.length > 0) {
      let i = 0;
      for await (const e of this.#changes(sessionId, wanted[0]!.streamVersion)) {
        if (e.version !== wanted[i]!.streamVersion) continue;
        changes.push({ ...wanted[i]!, value: e.type === 'context.set' ? e.data.context : e.data.patch });
        if (++i === wanted.length) break;
      }
    }
    return { changes, hasMore: from - 1 + limit < history.length, position };
  }

  async #change(sessionId: string, options: WriteOptions | undefined, event: ChatEvent): Promise<ContextValue> {
    assertId(sessionId, 'sessionId');
    // The catalog checks the patch again on append; here it must be plain data before its keys are counted.
    if (event.type === 'context.patched') jsonObject(event.data.patch, 'patch', EVENT_LIMITS.contextBytes);
    await this.#core.command(sessionStream(sessionId), options, () => {
      const context = this.#context(sessionId);
      if (event.type === 'context.patched') assertMergedKeys(context.current, event.data.patch, 'patch');
      return { events: [event], expected: this.#sessionVersion(sessionId) };
    });
    const context = this.#context(sessionId);
    return this.#value(sessionId, detached(context.current), context.history.length, this.#core.runner.position);
  }

  #context(sessionId: string): SessionContext {
    const context = this.#core.state(contextProjection).sessions.get(sessionId);
    if (!context) throw notFound('session', sessionId, 'sessionId');
    return context;
  }

  #sessionVersion(sessionId: string): number {
    return this.#core.state(sessionsProjection).sessions.get(sessionId)!.version;
  }

  #value(sessionId: string, context: JsonObject, version: number, position: number): ContextValue {
    const at = this.#context(sessionId).history[version - 1]?.at;
    return at === undefined ? { sessionId, context, version, position } : { sessionId, context, version, at, position };
  }

  #versionOf(context: SessionContext, asOf: ContextAsOf): number {
    if (asOf === null || typeof asOf !== 'object') throw invalid('asOf', 'must be { version }, { time } or { snapshot }');
    assertInert(asOf, 'asOf');
    if ('version' in asOf) {
      assertPositiveInteger(asOf.version, 'asOf.version', 0);
      if (asOf.version > context.history.length) {
        throw new FfcdbError(ErrorCode.NOT_FOUND, `the context has ${context.history.length} versions, not ${asOf.version}`, { field: 'asOf.version', version: asOf.version });
      }
      return asOf.version;
    }
    if ('time' in asOf) {
      const t = asOf.time instanceof Date ? asOf.time.getTime() : asOf.time;
      if (typeof t !== 'number' || !Number.isFinite(t)) throw invalid('asOf.time', 'must be a Date or milliseconds since the epoch');
      // Change times never decrease within a stream: the last change at or before t.
      let lo = 0;
      let hi = context.history.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (context.history[mid]!.at <= t) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    }
    if ('snapshot' in asOf) {
      if (typeof asOf.snapshot !== 'string') throw invalid('asOf.snapshot', `must be a snapshot name; got ${describe(asOf.snapshot)}`);
      const snap = context.snapshots.get(asOf.snapshot);
      if (!snap) throw notFound('context snapshot', asOf.snapshot, 'asOf.snapshot');
      return snap.version;
    }
    throw invalid('asOf', 'must be { version }, { time } or { snapshot }');
  }

  /** The context after its first `version` changes: from the last `set` at or before it, with the patches after. */
  async #rebuild(sessionId: string, history: readonly ContextChange[], version: number): Promise<JsonObject> {
    if (version === 0) return {};
    let start = version - 1;
    while (start > 0 && history[start]!.op !== 'set') start--;
    const last = history[version - 1]!.streamVersion;
    let context: JsonObject = {};
    for await (const e of this.#changes(sessionId, history[start]!.streamVersion)) {
      if (e.version > last) break;
      context = applyContextChange(context, e);
    }
    return context;
  }

  async *#changes(sessionId: string, fromVersion: number): AsyncGenerator<ChangeEvent> {
    for await (const e of this.#core.events.streamEvents(sessionStream(sessionId), { fromVersion, types: CHANGES })) yield upcast(e) as ChangeEvent;
  }
}
