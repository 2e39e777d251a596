/**
 * A child process that migrates a store into a database, for the SIGKILL test
 * (not a test file). Run as `node --import tsx test/support/migrate-worker.ts
 * '<json config>'`; it writes `batch <n> <position>` to stdout after each
 * committed batch (one write each, so the parent can kill it mid-way).
 */
import fs from 'node:fs';
import { migrate } from '../../src/migration/migrate.js';
import { openStore } from '../../src/engine/open-store.js';
import { connectTarget } from '../../src/sql/connect.js';

export interface MigrateWorkerConfig {
  dir: string;
  to: string;
  schema?: string;
  batchSize: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as MigrateWorkerConfig;
const store = await openStore({ dir: config.dir, durability: 'none' });
const target = await connectTarget(config.to, config.schema === undefined ? {} : { schema: config.schema });
try {
  await migrate({ store, target, batchSize: config.batchSize, onProgress: (p) => fs.writeSync(1, `batch ${p.batches} ${p.position}\n`) });
  fs.writeSync(1, 'done\n');
} finally {
  await target.close();
  await store.close();
}
