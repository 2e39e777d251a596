/**
 * Benchmark runner: `npm run bench [-- [--quick] [--json FILE] [scenario ...]]`.
 *
 * Runs every scenario in bench/scenarios/ but those run only when named (or the ones named), each in its own
 * child process, prints each figure beside its peers from the same run as a
 * ratio, checks the issues' goals, and with --json writes every figure as
 * JSON rows { name, value, unit, peer, peerValue, ratio, ... }.
 */
import { fork } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { arch, cpus, loadavg, release, totalmem, type } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatMs, formatScenario, formatSummary, type ScenarioReport } from './lib/report.js';
import { makeTempDir, removeDir } from './lib/temp.js';

/** Run order; any other file in scenarios/ runs after these, alphabetically. */
const ORDER = [
  'durable-append',
  'concurrent-append',
  'append-nosync',
  'read-last-100',
  'replay',
  'disk-bytes',
  'json-file-per-chat',
  'blob-put-10mb',
  'chat-session-create',
  'chat-message-add',
  'chat-messages-last-100',
  'chat-sessions-list',
  'chat-context-as-of',
  'chat-document-upload',
  'postgres-append',
  'postgres-concurrent-append',
  'migrate-sqlite',
  'migrate-postgres',
  'search',
  'search-append',
];
/** Scenarios that run only when named (too long for the default run). */
const ON_REQUEST = ['search-scale'];

const scenariosDir = fileURLToPath(new URL('./scenarios/', import.meta.url));
const childScript = fileURLToPath(new URL('./lib/child.ts', import.meta.url));

function discover(): string[] {
  const found = readdirSync(scenariosDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3));
  return [...ORDER.filter((n) => found.includes(n)), ...found.filter((n) => !ORDER.includes(n)).sort()];
}

const USAGE = `usage: npm run bench -- [options] [scenario ...]

  --quick         a short smoke run (under a minute)
  --json FILE     also write every figure as JSON rows to FILE
  --seed N        seed of the generated chat data (default 42)
  --sessions N    size of a scenario that takes one (search-scale: sessions × 100 messages)
  --timeout S     give up on a scenario after S seconds (default 300)
  --list          list the scenarios and exit
  -h, --help      this text

scenarios: ${discover().join(', ')} (${ON_REQUEST.join(', ')} only when named)`;

function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        json: { type: 'string' },
        seed: { type: 'string', default: '42' },
        sessions: { type: 'string' },
        timeout: { type: 'string', default: '300' },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}
const { values, positionals } = parseCommandLine();

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const all = discover();
if (values.list) {
  console.log(all.join('\n'));
  process.exit(0);
}
const unknown = positionals.filter((p) => !all.includes(p));
if (unknown.length > 0) {
  console.error(`unknown scenario: ${unknown.join(', ')}\n\n${USAGE}`);
  process.exit(2);
}
const seed = Number(values.seed);
const timeoutS = Number(values.timeout);
const sessions = values.sessions === undefined ? undefined : Number(values.sessions);
if (!Number.isSafeInteger(seed) || !(timeoutS > 0) || (sessions !== undefined && !(Number.isSafeInteger(sessions) && sessions > 0))) {
  console.error(`--seed must be an integer, --timeout a positive number and --sessions a positive integer\n\n${USAGE}`);
  process.exit(2);
}
const selected = positionals.length > 0 ? all.filter((n) => positionals.includes(n)) : all.filter((n) => !ON_REQUEST.includes(n));
const quick = values.quick ?? false;

const runDir = await makeTempDir('ffcdb-bench');
let current: ReturnType<typeof fork> | undefined;
const onSignal = (sig: NodeJS.Signals) => {
  current?.kill('SIGKILL');
  void removeDir(runDir).finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

const cpu = cpus();
/** 1-minute load average: figures from a busy machine are not comparable with a quiet one's. */
const load = () => (loadavg()[0] ?? 0).toFixed(2);
console.log(
  `flatfile-chat-db benchmarks · ${quick ? 'quick (smoke run)' : 'full run'} · backend: flatfile · seed ${seed}\n` +
    `node ${process.version} · ${type()} ${release()} ${arch()} · ${cpu[0]?.model ?? 'cpu'} × ${cpu.length} · ${Math.round(totalmem() / 2 ** 30)} GiB · load ${load()} · data in ${runDir}\n`,
);

function runOne(name: string): Promise<ScenarioReport> {
  return new Promise((resolveReport) => {
    const started = performance.now();
    let report: ScenarioReport | undefined;
    const args = [name, '--run-dir', runDir, '--seed', String(seed), ...(quick ? ['--quick'] : []), ...(sessions === undefined ? [] : ['--sessions', String(sessions)])];
    const child = fork(childScript, args, {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    current = child;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000);
    child.on('message', (m) => (report = m as ScenarioReport));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      resolveReport(
        report ?? {
          scenario: name,
          title: '',
          subject: '',
          params: '',
          rows: [],
          notes: [],
          elapsedMs: performance.now() - started,
          error: signal === 'SIGKILL' ? `timed out after ${timeoutS} s` : `child exited with ${signal ?? code} before reporting`,
        },
      );
    });
  });
}

const started = performance.now();
const reports: ScenarioReport[] = [];
try {
  for (const name of selected) {
    console.log(`▶ ${name}`);
    const report = await runOne(name);
    reports.push(report);
    console.log(`${formatScenario(report)}\n`);
  }
} finally {
  await removeDir(runDir);
}

console.log(formatSummary(reports));
console.log(`\n${reports.length} scenario(s) in ${formatMs(performance.now() - started)} · load ${load()} at the end`);

if (values.json) {
  const file = resolve(values.json);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(reports.flatMap((r) => r.rows), null, 2)}\n`);
  console.log(`figures written to ${file}`);
}
process.exitCode = reports.some((r) => r.error) ? 1 : 0;
