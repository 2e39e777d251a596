/** What the fault-injection scenarios (test/faults/) share: how many N each kind runs, and the probe. */
import * as assert from 'uvu/assert';
import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import { ErrorCode, isFfcdbError } from '../../src/kernel/errors.js';
import type { Coverage, FaultKind } from './fault-runner.js';

/**
 * Every N for every kind under FFCDB_FAULTS=all (`npm run faults`). In npm test, to keep it short: EIO
 * at the first call of every distinct site, and an even spread of N for the other kinds.
 */
export function coverage(kind: FaultKind): Coverage {
  if (process.env.FFCDB_FAULTS === 'all') return 'every';
  if (kind === 'EIO') return 'sites';
  return { spread: kind === 'ENOSPC' || kind === 'short' ? 10 : 5 };
}

/** A marker append on a store after a failure; when acknowledged, the reopened folder must hold it. */
export async function probeAppend(store: EventStore): Promise<(root: string) => Promise<void>> {
  const r = await store.append('probe', { type: 'test.probe', data: { after: 'failure' } });
  return async (root) => {
    const reopened = await EventStore.open(new FlatfileBackend({ dir: root }));
    try {
      const events = await reopened.readStream('probe');
      assert.equal(
        events.map((e) => [e.position, e.data]),
        [[r.firstPosition, { after: 'failure' }]],
        'the append acknowledged after the failure is there',
      );
    } finally {
      await reopened.close();
    }
  };
}

/** Fields that differ from run to run (times, positions, cursors), left out of views. */
const VOLATILE = /(At|^at|^timestamp|^time|^position|^cursor|^next)$/;

/** A value as plain JSON for comparing views: Maps, Sets and bytes spelt out, volatile fields dropped. */
export function plainView(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('base64') };
  if (v instanceof Map) return { map: [...v].map(([k, x]) => [plainView(k), plainView(x)]) };
  if (v instanceof Set) return { set: [...v].map(plainView) };
  if (Array.isArray(v)) return v.map(plainView);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => !VOLATILE.test(k)).map(([k, x]) => [k, plainView(x)]));
  return v;
}

/** What a read returns, or the code it fails with (NOT_FOUND for what is absent); other failures throw. */
export async function attempt(read: () => Promise<unknown>): Promise<unknown> {
  try {
    return plainView(await read());
  } catch (err) {
    if (isFfcdbError(err, ErrorCode.NOT_FOUND)) return { error: err.code };
    throw err;
  }
}

/** Reads a byte stream whole. */
export async function bytesOf(stream: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c));
  return Buffer.concat(parts);
}

/** The reopened store takes writes again (an engine append to a stream no view reads). */
export async function takesWrites(events: EventStore): Promise<void> {
  await events.append('after-reopen', { type: 'test.after-reopen', data: null });
}
