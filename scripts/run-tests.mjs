#!/usr/bin/env node
// The project's test command (`npm test`): first the checks (the type check,
// Biome's lint with the layering rules of biome.json, knip's unused exports and
// files), each counted as one test; then every uvu test file (`*.test.ts`)
// under test/ and then property-tests/, with TypeScript loaded through tsx; it
// ends with one line `N passed, N failed`. Exits non-zero when a test fails or a
// test file cannot be loaded. The PostgreSQL tests get a server through
// FFCDB_TEST_POSTGRES (scripts/postgres-for-tests.mjs), or are skipped with a
// line saying so.
//
// Each folder runs in its own child process (this script with `--folder`), which
// imports the files one by one, so a file that fails to load is reported and
// counted as a failure while the other files still run.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findTestPostgres } from './postgres-for-tests.mjs';

const FOLDERS = ['test', 'property-tests'];
/** Run before the tests: each passes when its command exits 0. tsx only strips types, so tsc is what checks them. */
const CHECKS = [
  ['type check (tsc)', 'tsc', ['-p', 'tsconfig.json', '--noEmit']],
  ['lint and layering (biome)', 'biome', ['lint', '--error-on-warnings', '--max-diagnostics=50', '.']],
  ['unused exports and files (knip)', 'knip', ['--no-progress']],
];
const PATTERN = '\\.test\\.ts$';

if (process.argv[2] === '--folder') await runFolder(process.argv[3]);
else await main();

async function main() {
  const postgres = findTestPostgres();
  if (postgres) process.env.FFCDB_TEST_POSTGRES = postgres;
  else delete process.env.FFCDB_TEST_POSTGRES;
  let passed = 0;
  let failed = 0;
  for (const [name, command, args] of CHECKS) {
    const started = Date.now();
    const r = spawnSync(fileURLToPath(new URL(`../node_modules/.bin/${command}`, import.meta.url)), args, { encoding: 'utf8' });
    const ok = r.status === 0;
    console.log(`${ok ? '✓' : '✘'} ${name} (${Date.now() - started} ms)`);
    if (!ok) console.log(`${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`);
    if (ok) passed++;
    else failed++;
  }
  console.log('');
  for (const folder of FOLDERS) {
    if (!existsSync(folder) || (await testFiles(folder)).length === 0) {
      console.log(`(no test files in ${folder}/, skipped)\n`);
      continue;
    }
    const { code, output } = await runChild(folder);
    // uvu's totals come last, after anything the tests printed.
    const count = (label) => Number([...output.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'gm'))].at(-1)?.[1] ?? 0);
    const total = count('Total');
    const ok = count('Passed');
    const notLoaded = count('Not loaded');
    // uvu's Total leaves out skipped tests, so everything run and not passed failed.
    let folderFailed = total - ok + notLoaded;
    warnAboutCutShortSuites(output);
    // A crash before uvu printed its totals still fails the run.
    if (code !== 0 && folderFailed === 0) {
      console.log(`${folder}/: the test process exited with ${code} before reporting a failure; counted as 1 failure`);
      folderFailed = 1;
    }
    passed += ok;
    failed += folderFailed;
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

/**
 * uvu stops a suite without a word when a hook throws, or when a test throws an
 * error whose `details` is not a string (an FfcdbError's is an object): its
 * reporter crashes on it. The tests it never ran still count as failed; say why.
 */
function warnAboutCutShortSuites(output) {
  for (const [, suite, marks, total] of output.matchAll(/^(.*?)([•✘ ]*)\(\d+ \/ (\d+)\)$/gm)) {
    const ran = marks.replace(/ /g, '').length;
    if (ran < Number(total)) {
      console.log(`note: suite "${suite.trim() || '(unnamed)'}" stopped after ${ran} of ${total} tests: a hook threw, or a test threw an error uvu cannot print (such as an FfcdbError, whose details are an object); the rest count as failed`);
    }
  }
}

/** Runs one folder in a child process, echoing its output and keeping a copy (without colours) to read the totals from. */
function runChild(folder) {
  return new Promise((resolve) => {
    const env = { ...process.env };
    if (process.stdout.isTTY && !env.NO_COLOR) env.FORCE_COLOR = '1';
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--folder', folder], {
      stdio: ['inherit', 'pipe', 'inherit'],
      env,
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      output += chunk.toString('utf8');
    });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes, which begin with the ESC control character
    child.on('close', (code, signal) => resolve({ code: code ?? signal, output: output.replace(/\x1b\[[0-9;]*m/g, '') }));
  });
}

async function testFiles(folder) {
  const { parse } = await import('uvu/parse');
  return (await parse(folder, PATTERN)).suites;
}

/** In the child: what `uvu <folder> <pattern>` does, but a file that fails to load does not stop the others. */
async function runFolder(folder) {
  const files = await testFiles(folder);
  globalThis.UVU_DEFER = 1;
  const uvu = await import('uvu');
  let notLoaded = 0;
  for (const [index, file] of files.entries()) {
    globalThis.UVU_INDEX = index;
    globalThis.UVU_QUEUE.push([`${folder}/${file.name}`]);
    try {
      await import(pathToFileURL(file.file).href);
    } catch (err) {
      notLoaded++;
      console.log(`\n  ✘ ${folder}/${file.name} failed to load:\n${err?.stack ?? err}\n`);
    }
  }
  await uvu.exec();
  console.log(`  Not loaded: ${notLoaded}\n`);
  // Exit explicitly, so a handle a test forgot to close cannot hang the run,
  // but only once stdout is flushed (a pipe may still hold uvu's report).
  const code = notLoaded > 0 ? 1 : (process.exitCode ?? 0);
  process.stdout.write('', () => process.exit(code));
}
