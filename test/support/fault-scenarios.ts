/** What the fault-injection scenarios (test/faults/) share: how many N each kind runs, and the probe. */
import * as assert from 'uvu/assert';
import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import type { Coverage, FaultKind } from './fault-runner.js';

/**
 * Every N for every kind under FFCDB_FAULTS=all (`npm run faults`); in npm test, every N for EIO and
 * ENOSPC and an even spread of N for the other kinds, to keep the run short.
 */
export function coverage(kind: FaultKind): Coverage {
  if (process.env.FFCDB_FAULTS === 'all' || kind === 'EIO' || kind === 'ENOSPC') return 'every';
  return { spread: 25 };
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
