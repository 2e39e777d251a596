/**
 * The commands that only read a store open it read-only: `projections status`, `projections compare`,
 * `export-session`, `export`, `migrate` and `migrate verify` run on a store on a read-only mount (the
 * write bits taken away when not root) and leave every entry of its folder as it was; `projections
 * rebuild`, which saves what it swaps in, does not.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { openChatStore } from '../../src/chat/chat-store.js';
import { flatfileSuite, tempRoot } from '../flatfile/unit-helpers.js';
import { fingerprint, readOnlyMount } from '../support/read-only-folder.js';

const CLI = path.resolve('src/cli/ffcdb.ts');

function ffcdb(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
}

const test = flatfileSuite('ffcdb: the reading commands open the store read-only');
let root = '';

test.before.each(() => {
  root = tempRoot('cli-read-only');
});

test.after.each(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

async function seed(dir: string): Promise<void> {
  const chat = await openChatStore({ dir });
  await chat.users.create({ userId: 'ann' });
  await chat.sessions.create({ userId: 'ann', sessionId: 's1', title: 'Plans' });
  await chat.messages.add('s1', [
    { role: 'user', content: 'hello' },
    { role: 'assistant', content: 'hi' },
  ]);
  await chat.documents.upload({ sessionId: 's1', name: 'a.txt', mediaType: 'text/plain' }, Buffer.from('bytes'));
  await chat.close();
}

test('projections status and compare, export-session, export, migrate and migrate verify run on an unwritable store and change nothing in it', async () => {
  const dir = path.join(root, 'store');
  const out = path.join(root, 'out');
  fs.mkdirSync(out);
  await seed(dir);
  const before = fingerprint(dir);
  const mounted = readOnlyMount(dir);
  // Without a way to make the folder unwritable, the fingerprint alone shows that nothing was written.
  if (typeof mounted === 'string') console.log(`  (the store stays writable: ${mounted}; checking its fingerprint only)`);
  try {
    const db = `sqlite:${path.join(out, 'chat.db')}`;
    for (const args of [
      ['projections', 'status', '--dir', dir],
      ['projections', 'compare', '--dir', dir],
      ['export-session', '--dir', dir, '--session', 's1', '--format', 'jsonl', '--out', path.join(out, 's1.jsonl')],
      ['export', '--dir', dir, '--out', path.join(out, 'export')],
      ['migrate', '--dir', dir, '--to', db],
      ['migrate', 'verify', '--dir', dir, '--to', db],
    ]) {
      const run = ffcdb(...args);
      assert.is(run.status, 0, `ffcdb ${args.slice(0, 2).join(' ')}: ${run.stderr}`);
    }
    assert.match(fs.readFileSync(path.join(out, 's1.jsonl'), 'utf8'), '"content":"hello"');
    assert.ok(fs.existsSync(path.join(out, 'export', 'manifest.json')));
    if (typeof mounted !== 'string') {
      const rebuild = ffcdb('projections', 'rebuild', '--dir', dir, 'sessions');
      assert.is(rebuild.status, 2, 'a rebuild saves what it swaps in, so it opens the store for writing');
    }
  } finally {
    if (typeof mounted !== 'string') mounted.undo();
  }
  assert.is(fingerprint(dir), before);
});

test.run();
