import { currentVersion, validateEvent, type EventDataMap, type EventType } from '../events/catalog.js';
import { object } from '../events/fields.js';
import type { BlobStore } from '../blobs/blob-store.js';
import type { EventStore } from '../engine/event-store.js';
import { type JsonSink, assertId, assertInert, assertPositiveInteger, invalid, jsonValue } from '../kernel/validation.js';
import { ErrorCode, FfcdbError, isFfcdbError } from '../kernel/errors.js';
import type { ProjectionRunner } from '../projector/projection-runner.js';
import type { Projection } from '../projections/projection.js';
import type { AppendResult, EventMetadata, ExpectedVersion, JsonValue, NewEvent } from '../kernel/types.js';

/** Audit fields a caller may put on the events a write appends. */
export interface WriteOptions {
  /** Who made the change (a user id, a service name). */
  actor?: string;
  correlationId?: string;
  causationId?: string;
}

/** Consistency for reads: wait until the projections reflect this global position (one an append returned). */
export interface ReadOptions {
  waitFor?: number;
}

/** What a command decided to append, given the projections' current state. */
export interface Decision {
  events: ChatEvent[];
  /** The stream version the decision was made against: a concurrent change elsewhere makes the append conflict and the command retry. */
  expected: ExpectedVersion;
}

/**
 * An event a command appends. `field` is the caller's name for its payload, so a
 * payload the catalog refuses is reported as the caller wrote it (`message.content`,
 * or `title` for '') rather than as the event's `data.content`.
 */
export type ChatEvent = { [K in EventType]: { type: K; data: EventDataMap[K]; field?: string } }[EventType];

/** A cross-process conflict is retried against fresher state this many times before it reaches the caller. */
const COMMAND_ATTEMPTS = 5;

/**
 * What every part of the chat API shares: the engine, the projection runner and
 * the blob store, and the one way to run a command. Commands on one stream run
 * one at a time in this process, so they never conflict with each other; across
 * processes the expected version catches a change the state had not seen.
 */
export class ChatCore {
  readonly events: EventStore;
  readonly runner: ProjectionRunner;
  readonly blobs: BlobStore;
  readonly #streamQueues = new Map<string, Promise<unknown>>();
  /** Runs before a write resolves, after the projections reflect it (the search index, when it indexes on write); must not throw: the write is done. */
  afterWrite: ((position: number) => Promise<void>) | undefined;
  /** Runs before a purge resolves, once the log no longer holds the session: what else keeps its text (the search index) drops it. */
  afterPurge: (() => Promise<void>) | undefined;

  constructor(events: EventStore, runner: ProjectionRunner, blobs: BlobStore) {
    this.events = events;
    this.runner = runner;
    this.blobs = blobs;
  }

  state<S>(projection: Projection<S>): S {
    return this.runner.state(projection);
  }

  /**
   * Runs `decide` against current state and appends what it returns, validated
   * against the catalog; resolves once the projections reflect the append.
   * `decide` throws (NOT_FOUND, CONFLICT, INVALID_ARGUMENT ...) to refuse.
   */
  async command(streamId: string, options: WriteOptions | undefined, decide: () => Decision): Promise<AppendResult> {
    const result = await this.change(streamId, options, decide);
    if (!result) throw new Error('chat: a command decided on no events');
    return result;
  }

  /** Like `command`, but a decision of no events (nothing to change) appends nothing and resolves undefined. */
  change(streamId: string, options: WriteOptions | undefined, decide: () => Decision): Promise<AppendResult | undefined> {
    const metadata = writeMetadata(options);
    return this.#onStream(streamId, async () => {
      // After a conflict: the stream's version read before catching up, so the state decided on holds every event up to it.
      let known: number | undefined;
      for (let attempt = 1; ; attempt++) {
        const decision = decide();
        if (decision.events.length === 0) return undefined;
        // Events a projection skips (from a newer release, or written around the chat API) still count in the stream's version.
        const expected = known !== undefined && typeof decision.expected === 'number' ? known : decision.expected;
        const batch: NewEvent[] = decision.events.map((e) => {
          const schemaVersion = currentVersion(e.type);
          let data: JsonValue;
          try {
            // Stored as JSON.stringify would write it, whatever the operation (see jsonValue).
            data = jsonValue(e.data, 'data');
            validateEvent(e.type, schemaVersion, data);
          } catch (err) {
            throw callerField(err, e.field);
          }
          return metadata ? { type: e.type, data, schemaVersion, metadata } : { type: e.type, data, schemaVersion };
        });
        try {
          const result = await this.events.append(streamId, batch, { expectedVersion: expected });
          await this.runner.catchUp(result.lastPosition);
          // The hook never throws: the events are in the log whatever it does.
          await this.afterWrite?.(result.lastPosition);
          return result;
        } catch (err) {
          if (!isFfcdbError(err, ErrorCode.CONFLICT) || attempt >= COMMAND_ATTEMPTS || err.details.purged) throw err;
          // Another process changed the stream: look again with its change applied.
          known = await this.events.streamVersion(streamId);
          await this.runner.catchUp();
        }
      }
    });
  }

  /** Waits for `waitFor`, then returns the position the projections reflect. */
  async reflect(options: ReadOptions | undefined): Promise<number> {
    assertOptions(options);
    if (options?.waitFor !== undefined) {
      assertPositiveInteger(options.waitFor, 'waitFor', 0);
      await this.runner.waitFor(options.waitFor);
    }
    return this.runner.position;
  }

  #onStream<T>(streamId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#streamQueues.get(streamId) ?? Promise.resolve();
    const run = before.then(fn);
    const tail = run.catch(() => undefined);
    this.#streamQueues.set(streamId, tail);
    void tail.then(() => {
      if (this.#streamQueues.get(streamId) === tail) this.#streamQueues.delete(streamId);
    });
    return run;
  }
}

/** A call's options argument, when given, is an object (null would otherwise fail as a TypeError, untyped). */
export function assertOptions(options: unknown): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') throw invalid('options', 'must be an object');
  // A Proxy or getter would run the caller's code on every read of an option.
  assertInert(options, 'options');
  if (Array.isArray(options)) throw invalid('options', 'must be an object');
}

function writeMetadata(options: WriteOptions | undefined): EventMetadata | undefined {
  assertOptions(options);
  if (options === undefined) return undefined;
  const out: EventMetadata = {};
  for (const key of ['actor', 'correlationId', 'causationId'] as const) {
    const v = options[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length === 0 || v.length > 256) throw invalid(`options.${key}`, 'must be a string of 1-256 characters');
    out[key] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The catalog's error on `data...` renamed to the caller's name for the payload. */
function callerField(err: unknown, payload: string | undefined): unknown {
  if (payload === undefined || !(err instanceof FfcdbError) || typeof err.details.field !== 'string') return err;
  const field = err.details.field;
  if (field !== 'data' && !field.startsWith('data.')) return err;
  const renamed = field === 'data' ? payload : payload === '' ? field.slice('data.'.length) : payload + field.slice('data'.length);
  if (renamed === '') return err;
  const message = err.message.startsWith(field) ? renamed + err.message.slice(field.length) : err.message;
  return new FfcdbError(err.code, message, { ...err.details, field: renamed }, { cause: err });
}

/**
 * `value` as the caller's payload object `field`, refusing the `reserved` keys:
 * those the call fills in itself (the id it was given as an argument), which a
 * stray copy in the payload must not override.
 */
export function payload(value: unknown, field: string, reserved: readonly string[]): Record<string, unknown> {
  const o = storedObject(value, field);
  for (const key of reserved) if (Object.hasOwn(o, key)) throw invalid(`${field}.${key}`, 'is not a field here: the call names it');
  return o;
}

/**
 * The caller's object `field` as it will be stored: as JSON.stringify would
 * write it (undefined keys dropped, Dates as ISO strings). `sink` hears it as
 * stored, in the same pass (see jsonValue).
 */
export function storedObject(value: unknown, field: string, ids?: Readonly<Record<string, string>>, sink?: JsonSink): Record<string, unknown> {
  if (value === undefined) return object(value, field);
  // Ids are checked first, so a bad id is INVALID_ID whatever the JSON rule would say of it.
  if (ids !== undefined && typeof value === 'object' && value !== null) {
    assertInert(value, field); // so reading an id runs no getter or Proxy trap
    for (const key in ids) {
      const id = (value as Record<string, unknown>)[key];
      if (id !== undefined) assertId(id, ids[key]!);
    }
  }
  const stored = jsonValue(value, field, sink);
  // jsonValue has checked a plain object's prototype and enumerable keys: `object` is left to look at any other own key (a symbol, a hidden getter).
  if (isPlainObject(stored) && Object.getOwnPropertySymbols(stored).length === 0 && Object.getOwnPropertyNames(stored).length === Object.keys(stored).length) {
    return stored;
  }
  return object(stored, field);
}

function isPlainObject(value: JsonValue): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** NOT_FOUND naming the entity. */
export function notFound(what: string, id: string, field: string): FfcdbError {
  return new FfcdbError(ErrorCode.NOT_FOUND, `${what} ${JSON.stringify(id)} does not exist`, { field, id });
}

/** A copy the caller may change without touching projection state. */
export function detached<T>(value: T): T {
  return structuredClone(value);
}
