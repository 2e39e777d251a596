import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Observable } from 'rxjs';
import type { BackendCapabilities, StorageBackend } from '../../backends/backend.js';
import { EventStore } from '../../engine/event-store.js';
import type { DurabilityMode, RecordedEvent } from '../../kernel/types.js';
import { filesHolding } from '../files-holding.js';
import { reportable, withTimeout } from './helpers.js';
import { Recorder } from './recorder.js';

export type MakeBackend = (ctx: { dir: string }) => StorageBackend | Promise<StorageBackend>;

/**
 * Registers one test. uvu's `test` and node:test's `test` both fit; the suite
 * needs no hooks: each test sets up and cleans up after itself.
 */
export type TestFunction = (name: string, fn: () => Promise<void>) => unknown;

export interface BackendComplianceOptions {
  /** Registers a test (uvu's or node:test's `test`; with uvu, call its `run()` after the suite). */
  test: TestFunction;
  /** Builds a backend whose data lives in (or is derived from) `ctx.dir`, a fresh folder per test. */
  makeBackend: MakeBackend;
  /** Put before every test name, e.g. the backend and its mode. */
  name?: string;
  /** Events in the bulk tests (paging, concurrency). Larger stresses harder. Default 600. */
  scale?: number;
  /** A test (or a wait for a subscription) that has not finished after this many ms fails. Default 20000. */
  timeoutMs?: number;
  /**
   * The capabilities that choose the sections to run. Default: the backend's own
   * `supports`, read from one instance that `makeBackend` builds (and never
   * opens) when the suite is registered; give it here when `makeBackend` is async.
   */
  supports?: BackendCapabilities;
  /** The durability mode the backends of `makeBackend` run in, when the backend has modes: it must be one of `supports.durability`, and 'always' adds the kill test. */
  durability?: DurabilityMode;
  /**
   * Where child processes find `makeBackend`: a module (URL or path) and the
   * name of its export, which builds the same backend as `makeBackend` from
   * `{ dir }`. Required when `supports.crossProcess`. A `.ts` module needs tsx
   * installed.
   */
  backendModule?: { url: string | URL; name: string };
  /**
   * For a backend that keeps its data outside `ctx.dir` (a database): where it
   * holds the given text, as names of the places (tables, files). Default: the
   * files under `ctx.dir` whose bytes contain it.
   */
  placesHolding?: (ctx: { dir: string }, marker: string) => Promise<string[]>;
  /** Runs after each test once its stores are closed, to remove what a backend keeps outside `ctx.dir`. */
  cleanup?: (ctx: { dir: string }) => Promise<void>;
}

export interface Ctx {
  dir: string;
  stores: EventStore[];
  recorders: Recorder[];
}

type SectionTest = (name: string, fn: (ctx: Ctx) => Promise<void>) => void;

/** What every section of the suite is given. */
export interface Kit {
  options: BackendComplianceOptions;
  supports: BackendCapabilities;
  scale: number;
  timeoutMs: number;
  placesHolding: (ctx: { dir: string }, marker: string) => Promise<string[]>;
  /** A registrar for the tests of one section, named `<name>: <title>: <test>`. */
  section(title: string): SectionTest;
  /** Opens a store on a new backend for the test's folder; it is closed after the test. */
  open(ctx: Ctx): Promise<EventStore>;
  /** Records a subscription; it is unsubscribed after the test. */
  record(ctx: Ctx, events$: Observable<RecordedEvent>): Recorder;
}

export function makeKit(options: BackendComplianceOptions): Kit {
  const label = options.name ?? '';
  const timeoutMs = options.timeoutMs ?? 20_000;
  const placesHolding = options.placesHolding ?? (async (ctx: { dir: string }, marker: string) => filesHolding(ctx.dir, marker));
  const prefix = label ? `${label}: ` : '';

  async function run(name: string, fn: (ctx: Ctx) => Promise<void>): Promise<void> {
    const ctx: Ctx = { dir: mkdtempSync(join(tmpdir(), `ffcdb-${label.replace(/[^\w-]/g, '_') || 'compliance'}-`)), stores: [], recorders: [] };
    try {
      await withTimeout(fn(ctx), timeoutMs, `test "${name}"`).catch(reportable);
    } finally {
      for (const r of ctx.recorders) r.unsubscribe();
      await withTimeout(Promise.allSettled(ctx.stores.map((st) => st.close())), timeoutMs, 'closing the stores after the test');
      await options.cleanup?.(ctx);
      rmSync(ctx.dir, { recursive: true, force: true });
    }
  }

  return {
    options,
    supports: options.supports ?? probeSupports(label, options.makeBackend),
    scale: options.scale ?? 600,
    timeoutMs,
    placesHolding,
    section: (title) => (name, fn) => void options.test(`${prefix}${title}: ${name}`, () => run(name, fn)),
    async open(ctx) {
      const store = await EventStore.open(await options.makeBackend({ dir: ctx.dir }));
      ctx.stores.push(store);
      return store;
    },
    record(ctx, events$) {
      const r = new Recorder(events$, timeoutMs);
      ctx.recorders.push(r);
      return r;
    },
  };
}

/** Reads `supports` from a backend that is built in a scratch folder and never opened. */
function probeSupports(name: string, makeBackend: MakeBackend): BackendCapabilities {
  const dir = mkdtempSync(join(tmpdir(), 'ffcdb-compliance-probe-'));
  try {
    const backend = makeBackend({ dir });
    if (backend instanceof Promise) {
      backend.catch(() => {});
      throw new Error(`backendComplianceSuite(${name}): makeBackend is async, so pass options.supports`);
    }
    return backend.supports;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
