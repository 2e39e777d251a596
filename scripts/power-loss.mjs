#!/usr/bin/env node
// `npm run powerloss -- N`: every power-loss test (test/faults/power-loss-*.test.ts) with N random cuts per
// durable write path instead of the few `npm test` runs; FFCDB_POWER_SEED=S replays a printed seed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const cuts = process.argv[2];
if (cuts !== undefined && !/^[1-9]\d*$/.test(cuts)) {
  console.error('usage: npm run powerloss -- [CUTS per path]');
  process.exit(2);
}
const env = { ...process.env, ...(cuts ? { FFCDB_POWER_CUTS: cuts } : {}) };
let failed = 0;
for (const file of fs.readdirSync('test/faults').filter((f) => /^power-loss-.*\.test\.ts$/.test(f)).sort()) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', `test/faults/${file}`], { stdio: 'inherit', env });
  if (r.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
