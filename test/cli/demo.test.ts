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

test('the demo (npm start) tours the chat API: edits keep revisions, time travel, one blob for equal bytes, projections equal their rebuild', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-demo-'));
  try {
    const out = runDemo(dir);
    assert.match(out, 'the store holds 0 events from earlier runs; projections loaded from snapshots: none');
    assert.match(out, 'revision 2 reads "Find me a quiet hotel near the river."; revision 1 still reads "Find me a hotel near the river."');
    assert.match(out, 'time travel to snapshot "planning" (version 1): {"summary":"Alice plans a Lisbon trip","goals":["hotel"]}');
    assert.match(out, 'two documents, one blob (same sha256');
    assert.match(out, 'alice has 1 session(s); the newest: "Trip to Lisbon" with 2 messages');
    assert.match(out, 'live feed subscriber saw user.created, session.created, message.added, message.added');
    assert.match(out, "the session's audit log keeps all 11 events: session.created, message.added");
    assert.match(out, '# Trip to Lisbon');
    assert.match(out, 'users identical, sessions identical, messages identical, documents identical, context identical');
    assert.match(out, 'global feed head is now 12');
    assert.is(fs.readdirSync(path.join(dir, 'blobs')).filter((n) => /^[0-9a-f]{2}$/.test(n)).length, 1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('running the demo again keeps what the first run stored and loads the projections from their snapshots', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-demo-'));
  try {
    runDemo(dir);
    const second = runDemo(dir);
    assert.match(second, 'the store holds 12 events from earlier runs; projections loaded from snapshots: users, sessions, messages, documents, context');
    assert.match(second, 'alice has 2 session(s)');
    assert.match(second, 'live feed subscriber saw session.created, message.added, message.added, message.added');
    assert.match(second, 'global feed head is now 23');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
