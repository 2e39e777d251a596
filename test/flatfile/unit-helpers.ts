// Shared helpers for the flatfile unit tests (not a test file itself).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Callback, suite, type Test } from 'uvu';
import { FfcdbError } from '../../src/kernel/errors.js';

/**
 * A uvu suite whose tests turn an unexpected FfcdbError into a plain Error.
 * uvu's reporter calls `err.details.split(...)` on a failing test's error;
 * FfcdbError.details is an object, so without this an unexpected FfcdbError
 * aborts the rest of the suite and its message is never printed.
 */
export function flatfileSuite(title: string): Test<Record<string, unknown>> {
  const s = suite(title);
  const wrap =
    (fn?: Callback<Record<string, unknown>>): Callback<Record<string, unknown>> =>
    async (ctx) => {
      try {
        await fn?.(ctx);
      } catch (err) {
        throw readable(err);
      }
    };
  const t = ((name: string, fn: Callback<Record<string, unknown>>) => s(name, wrap(fn))) as Test<Record<string, unknown>>;
  t.only = (name, fn) => s.only(name, wrap(fn));
  t.skip = (name, fn) => s.skip(name, wrap(fn));
  t.before = s.before;
  t.after = s.after;
  t.run = () => s.run();
  return t;
}

export function readable(err: unknown): unknown {
  if (!(err instanceof FfcdbError)) return err;
  const plain = new Error(`unexpected FfcdbError ${err.code}: ${err.message} ${JSON.stringify(err.details)}`);
  plain.stack = `${plain.message}\n${(err.stack ?? '').split('\n').slice(1).join('\n')}`;
  return plain;
}

/** Runs fn and returns the FfcdbError it threw; fails when it throws nothing or something else. */
export function thrown(fn: () => unknown): FfcdbError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FfcdbError) return err;
    throw new Error(`expected an FfcdbError, got ${(err as Error)?.stack ?? String(err)}`);
  }
  throw new Error('expected an FfcdbError, nothing was thrown');
}

/** Awaits p and returns the FfcdbError it rejected with; fails when it resolves or rejects with something else. */
export async function rejected(p: Promise<unknown> | (() => Promise<unknown>)): Promise<FfcdbError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    if (err instanceof FfcdbError) return err;
    throw new Error(`expected an FfcdbError, got ${(err as Error)?.stack ?? String(err)}`);
  }
  throw new Error('expected an FfcdbError, the promise resolved');
}

/** A fresh temporary folder, resolved through symlinks (the layout compares resolved paths). */
export function tempRoot(prefix: string): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `ffcdb-${prefix}-`)));
}

/** The tests' one seeded generator, so failures reproduce. */
export { rng } from '../support/workload.js';
