/**
 * Runs one scenario in its own process (as pino's runbench does), so that one
 * scenario's heap, page cache warm-up and open files do not colour the next.
 * Sends its ScenarioReport to the runner over IPC.
 */
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { subjectLabel } from './ffcdb.js';
import { Results, type ScenarioReport } from './report.js';
import type { Scenario, ScenarioContext } from './scenario.js';
import { makeTempDir, removeDir } from './temp.js';

const { values, positionals } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seed: { type: 'string', default: '42' },
    sessions: { type: 'string' },
    'run-dir': { type: 'string' },
  },
  allowPositionals: true,
});
const name = positionals[0];
const runDir = values['run-dir'];
if (!name || !runDir || !process.send) {
  console.error('bench/lib/child.ts is started by bench/run.ts');
  process.exit(2);
}

const file = join(fileURLToPath(new URL('../scenarios/', import.meta.url)), `${name}.ts`);
const scenario = ((await import(pathToFileURL(file).href)) as { default: Scenario }).default;
const results = new Results(name, subjectLabel(scenario.durability));
const quick = values.quick ?? false;
const dir = await makeTempDir(name, runDir);
const ctx: ScenarioContext = {
  name,
  quick,
  seed: Number(values.seed),
  ...(values.sessions === undefined ? {} : { sessions: Number(values.sessions) }),
  dir,
  runDir,
  results,
  size: (full, q) => (quick ? q : full),
  log: (m) => console.log(`    · ${m}`),
};

const started = performance.now();
let error: string | undefined;
try {
  await scenario.run(ctx);
} catch (err) {
  error = err instanceof Error ? (err.stack ?? err.message) : String(err);
} finally {
  await removeDir(dir);
}
const report: ScenarioReport = {
  scenario: name,
  title: scenario.title,
  subject: results.subject,
  params: results.params,
  rows: results.rows,
  notes: results.notes,
  elapsedMs: performance.now() - started,
  ...(error ? { error } : {}),
};
process.send(report, () => process.exit(0));
