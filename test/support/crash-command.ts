/**
 * `npm run crash -- [N] [--seed=S] [--folders=F] [--keep]` runs N crash cycles
 * through the chat API (default 100; chat-crash-cycles.ts) and prints a
 * summary. `--engine` runs the engine-level cycles instead (default 300;
 * crash-cycles.ts): child processes appending events, `--children=C` per cycle,
 * `--postgres=URL` (which implies `--engine`) on the PostgreSQL backend.
 */
import { formatChatSummary, runChatCrashCycles } from './chat-crash-cycles.js';
import { CrashCheckFailed, formatSummary, runCrashCycles } from './crash-cycles.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const count = args.find((a) => /^\d+$/.test(a));
const number = (name: string) => (flag(name) === undefined ? {} : { [name]: Number(flag(name)) });
const postgres = flag('postgres');
const keep = args.includes('--keep');
const log = (line: string) => console.log(line);

async function main(): Promise<boolean> {
  if (args.includes('--engine') || postgres !== undefined) {
    const summary = await runCrashCycles({ cycles: Number(count ?? 300), ...number('seed'), ...number('children'), keep, ...(postgres !== undefined ? { postgres } : {}), log });
    console.log(formatSummary(summary));
    return true;
  }
  const summary = await runChatCrashCycles({ cycles: Number(count ?? 100), ...number('seed'), ...number('folders'), keep, log });
  console.log(formatChatSummary(summary));
  return summary.problems.length === 0;
}

main().then(
  (passed) => {
    console.log(passed ? 'crash test passed' : 'crash test FAILED');
    if (!passed) process.exit(1);
  },
  (err: unknown) => {
    console.error(err instanceof CrashCheckFailed ? err.message : ((err as Error)?.stack ?? String(err)));
    console.error('crash test FAILED');
    process.exit(1);
  },
);
