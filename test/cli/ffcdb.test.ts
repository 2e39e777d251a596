import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openChatStore } from '../../src/chat/chat-store.js';
import { CHAT_PROJECTIONS } from '../../src/projections/index.js';
import { sessionsProjection } from '../../src/projections/sessions.js';

const CLI = path.resolve('src/cli/ffcdb.ts');

function ffcdb(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}

async function withStore(fn: (dir: string, sessionId: string) => void | Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-cli-'));
  try {
    const chat = await openChatStore({ dir, durability: 'none' });
    await chat.users.create({ userId: 'ann' });
    const s = await chat.sessions.create({ userId: 'ann', title: 'Weekly ```plan```' });
    await chat.messages.add(s.sessionId, [{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'hi' }]);
    await chat.close();
    await fn(dir, s.sessionId);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('projections compare rebuilds each projection beside the live one and exits 0 when all are identical', async () => {
  await withStore((dir) => {
    const run = ffcdb('projections', 'compare', '--dir', dir);
    assert.is(run.status, 0, run.stderr);
    for (const p of CHAT_PROJECTIONS) assert.match(run.stdout, `${p.name} v${p.version} at position 4: identical`);
  });
});

test('projections rebuild swaps the rebuilt state in and needs a name', async () => {
  await withStore((dir) => {
    const run = ffcdb('projections', 'rebuild', '--dir', dir, 'sessions');
    assert.is(run.status, 0, run.stderr);
    assert.match(run.stdout, `sessions v${sessionsProjection.version} at position 4: identical, rebuilt state swapped in`);
    assert.is(ffcdb('projections', 'rebuild', '--dir', dir).status, 2);
  });
});

test('export writes the session in the format asked for, to a file or stdout', async () => {
  await withStore((dir, sessionId) => {
    const out = path.join(dir, 'out.jsonl');
    assert.is(ffcdb('export-session', '--dir', dir, '--session', sessionId, '--format', 'jsonl', '--out', out).status, 0);
    const kinds = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l).kind);
    assert.equal(kinds, ['export', 'session', 'message', 'message', 'context']);
    const md = ffcdb('export-session', '--dir', dir, '--session', sessionId);
    assert.is(md.status, 0, md.stderr);
    assert.match(md.stdout, '# Weekly ```plan```');
  });
});

test('bad usage, an unknown session and a folder without a store exit 2 with a message', async () => {
  await withStore((dir) => {
    const unknown = ffcdb('export-session', '--dir', dir, '--session', 'nope');
    assert.is(unknown.status, 2);
    assert.match(unknown.stderr, 'NOT_FOUND: session "nope" does not exist');
    assert.is(ffcdb('frobnicate', '--dir', dir).status, 2);
    assert.is(ffcdb('export-session', '--dir', dir, '--session', 'x', '--format', 'pdf').status, 2);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-cli-empty-'));
    const none = ffcdb('projections', 'status', '--dir', empty);
    fs.rmSync(empty, { recursive: true });
    assert.is(none.status, 2);
    assert.match(none.stderr, 'holds no store');
  });
});

test.run();
