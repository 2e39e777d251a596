#!/usr/bin/env node
// `npm run fuzz`: the reader properties of property-tests/readers/ (frames, the
// feed and stream segments, commit journal records, export folders, search
// segments and manifest) with 100,000 cases each instead of npm test's 1,000.
// The count reaches the properties through FFCDB_FUZZ_RUNS (fc-setup.ts), the
// same mechanism npm test uses. Each property runs in a worker thread under a
// deadline per case (property-tests/support/reader-property.ts).
//
//   npm run fuzz                          every reader, 100,000 cases per property
//   npm run fuzz -- journal search        only the files whose names contain these words
//   npm run fuzz -- --runs 20000          another count
//   npm run fuzz -- --seed 123 [--path 41] replay: the seed (and case) a failure printed
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FOLDER = 'property-tests/readers';
const args = process.argv.slice(2);
const env = { ...process.env, FFCDB_FUZZ_RUNS: '100000' };
const filters = [];
for (let i = 0; i < args.length; i++) {
  const option = { '--runs': 'FFCDB_FUZZ_RUNS', '--seed': 'FC_SEED', '--path': 'FC_PATH' }[args[i]];
  if (option) {
    const value = args[++i];
    if (value === undefined || !/^\d+(:\d+)*$/.test(value)) fail(`${args[i - 1]} needs a number`);
    env[option] = value;
  } else if (args[i].startsWith('--')) {
    fail(`unknown option ${args[i]} (--runs N, --seed S, --path P, or words of file names)`);
  } else {
    filters.push(args[i]);
  }
}

const root = fileURLToPath(new URL('..', import.meta.url));
const files = readdirSync(`${root}/${FOLDER}`)
  .filter((f) => f.endsWith('.test.ts') && (filters.length === 0 || filters.some((w) => f.includes(w))))
  .sort();
if (files.length === 0) fail(`no file of ${FOLDER}/ matches ${filters.join(', ')}`);

console.log(`${files.length} reader files, ${env.FFCDB_FUZZ_RUNS} cases per property${env.FC_SEED ? `, seed ${env.FC_SEED}` : ''}\n`);
let failed = 0;
const started = Date.now();
for (const file of files) {
  const t = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', `${FOLDER}/${file}`], { cwd: root, env, stdio: 'inherit' });
  const ok = r.status === 0;
  if (!ok) failed++;
  console.log(`${ok ? '✓' : '✘'} ${file}: ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
}
console.log(`${files.length - failed} passed, ${failed} failed, in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(failed > 0 ? 1 : 0);

function fail(message) {
  console.error(`npm run fuzz: ${message}`);
  process.exit(2);
}
