/**
 * The shared compliance suite: the StorageBackend contract, proven through the
 * public engine (`EventStore.open(backend)`), the way abstract-level's shared
 * tests prove a leveldown. It runs under any runner whose `test(name, fn)`
 * registers a test (uvu, node:test) and asserts with node:assert:
 *
 *   import { test } from 'uvu';
 *   import { backendComplianceSuite } from 'flatfile-chat-db/testing';
 *   backendComplianceSuite({ test, makeBackend: ({ dir }) => new MyBackend(dir) });
 *   test.run();
 *
 * Each test gets a fresh temporary folder (`ctx.dir`) that the suite creates and
 * removes; a persistent backend keeps its data there, and the reopen tests build
 * a second backend from the same folder. A backend that keeps its data elsewhere
 * (a database) derives its place from the folder and passes `cleanup` and
 * `placesHolding`. The backend's `supports` chooses the sections: `persistent`
 * the reopen tests, `crossProcess` the tests with child processes (which need
 * `backendModule`), `liveCrossProcess` live commits from another process, and
 * the `durability` under test ('always') the kill test.
 */
import { appendTests } from './append.js';
import { badInputTests } from './bad-input.js';
import { concurrencyTests } from './concurrency.js';
import { crossProcessTests } from './cross-process.js';
import { expectedVersionTests } from './expected-version.js';
import { feedTests } from './feed.js';
import { type BackendComplianceOptions, makeKit } from './harness.js';
import { idTests } from './ids.js';
import { lifecycleTests } from './lifecycle.js';
import { purgeTests } from './purge.js';
import { readTests } from './reads.js';
import { subscriptionTests } from './subscriptions.js';

export type { BackendComplianceOptions, MakeBackend, TestFunction } from './harness.js';

export function backendComplianceSuite(options: BackendComplianceOptions): void {
  const kit = makeKit(options);
  for (const section of [appendTests, expectedVersionTests, readTests, feedTests, subscriptionTests, purgeTests, concurrencyTests, badInputTests, idTests, lifecycleTests, crossProcessTests]) {
    section(kit);
  }
}
