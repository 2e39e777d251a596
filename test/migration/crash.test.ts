/**
 * A migration killed with SIGKILL mid-way, and resumed, verifies clean with no
 * duplicate rows: a child process migrates a store of some 20,000 events in
 * batches of 300 and is killed after a few batches, three times over; the
 * last run finishes. Its tables must then equal, checksum for checksum, those
 * of a migration that was never interrupted; and SQLite and PostgreSQL must end
 * with the same content checksums.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { migrate } from '../../src/migration/migrate.js';
import type { TableChecksum } from '../../src/migration/checksum.js';
import { flatfileSuite, rng } from '../flatfile/unit-helpers.js';
import { buildChatStore } from '../support/migration-store.js';
import type { MigrateWorkerConfig } from '../support/migrate-worker.js';
import { postgresAvailable } from '../support/postgres.js';
import { type TestTarget, assertVerified, checksums, postgresTarget, sqliteTarget, tempRoot, withDriver, withLog } from './helpers.js';

const WORKER = fileURLToPath(new URL('../support/migrate-worker.ts', import.meta.url));
const BATCH = 300;

const test = flatfileSuite('migration: killed with SIGKILL mid-way and resumed');
const random = rng(Number(process.env.FFCDB_CRASH_SEED ?? 7));
const storeDir = tempRoot('migration-crash');
let reference: TableChecksum[] = [];
let referenceTarget: TestTarget | undefined;

/** Starts the worker and kills it once it has committed `batches` more batches; resolves with the last position it reported. */
function killAfter(target: TestTarget, batches: number): Promise<{ killed: boolean; position: number }> {
  const schema = target.namespaceArgs[1];
  const config: MigrateWorkerConfig = { dir: storeDir, to: target.url, batchSize: BATCH, ...(schema ? { schema } : {}) };
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let seen = 0;
  let position = 0;
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    for (const line of s.split('\n')) {
      const m = /^batch \d+ (\d+)$/.exec(line);
      if (!m) continue;
      position = Number(m[1]);
      if (++seen === batches) child.kill('SIGKILL');
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ killed: true, position });
      else if (code === 0 && out.includes('done')) resolve({ killed: false, position });
      else reject(new Error(`migrate worker exited with ${code ?? signal}:\n${err}`));
    });
  });
}

test.before(async () => {
  await buildChatStore(storeDir, { bulkMessages: 20_000 });
  referenceTarget = sqliteTarget();
  await withLog(storeDir, (store) => withDriver(referenceTarget!, (target) => migrate({ store, target })));
  reference = await checksums(referenceTarget);
});

test.after(async () => {
  await referenceTarget?.cleanup();
  fs.rmSync(storeDir, { recursive: true, force: true });
});

const kinds: { kind: string; make: () => TestTarget }[] = [{ kind: 'sqlite', make: () => sqliteTarget() }];
if (postgresAvailable('migration SIGKILL test on PostgreSQL')) kinds.push({ kind: 'postgres', make: () => postgresTarget() });

for (const { kind, make } of kinds) {
  test(`${kind}: killed three times, resumed, verifies clean and equals an uninterrupted migration`, async () => {
    const t = make();
    try {
      let last = 0;
      for (let cycle = 0; cycle < 3; cycle++) {
        const run = await killAfter(t, 2 + Math.floor(random() * 6));
        assert.ok(run.killed, 'the worker finished before it could be killed: make the store larger');
        assert.ok(run.position > last, 'each run resumed from where the last one stopped and moved on');
        last = run.position;
      }
      const finished = await killAfter(t, Number.POSITIVE_INFINITY);
      assert.not.ok(finished.killed);
      await withLog(storeDir, async (store) => {
        assert.is(finished.position, await store.headPosition());
        const report = await assertVerified(store, t);
        assert.is(report.events.database.rows, report.events.log.rows, 'no event twice, none missing');
      });
      assert.equal(await checksums(t), reference, 'the same rows as a migration never interrupted');
    } finally {
      await t.cleanup();
    }
  });
}

if (kinds.length > 1) {
  test('SQLite and PostgreSQL end with the same content checksums', async () => {
    const t = postgresTarget();
    try {
      await withLog(storeDir, (store) => withDriver(t, (target) => migrate({ store, target, batchSize: 1000 })));
      const pg = await checksums(t);
      assert.equal(pg, reference);
      assert.ok(pg.find((c) => c.table === 'events')!.rows > 20_000);
    } finally {
      await t.cleanup();
    }
  });
}

test.run();
