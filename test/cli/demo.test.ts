import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const DEMO = path.resolve('src/cli/demo.ts');

function runDemo(dir: string): string {
  const run = spawnSync(process.execPath, ['--import', 'tsx', DEMO, '--dir', dir], { encoding: 'utf8', timeout: 60_000 });
  assert.is(run.status, 0, `the demo exited with ${run.status}: ${run.stderr}`);
  return run.stdout;
}

test('the demo (npm start) appends, reads back, follows the feed live and refuses a stale expected version', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-demo-'));
  try {
    const out = runDemo(dir);
    assert.match(out, 'the store holds 0 events from earlier runs');
    assert.match(out, 'live feed subscriber saw positions 1, 2, 3, 4, 5');
    assert.match(out, /retry returned version 5 \(duplicate: true\)/);
    assert.match(out, 'last two events, newest first: versions 5, 4');
    assert.match(out, /was refused: stream demo-\S+ is at version 5, the append expected version 1/);
    assert.match(out, 'global feed head is now 6');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('running the demo again keeps what the first run stored', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-demo-'));
  try {
    runDemo(dir);
    const second = runDemo(dir);
    assert.match(second, 'the store holds 6 events from earlier runs');
    assert.match(second, 'live feed subscriber saw positions 7, 8, 9, 10, 11');
    assert.match(second, 'global feed head is now 12');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
