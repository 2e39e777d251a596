import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { openChatStore } from '../../src/chat/chat-store.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { Temp, assertSameFiles, seedStore } from './helpers.js';

const CLI = path.resolve('src/cli/ffcdb.ts');
const test = flatfileSuite('ffcdb export / ffcdb import');

function ffcdb(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}

test('export, import into a new folder and export again give byte-identical exports; bad input exits 2 with a message and writes nothing', async () => {
  const temp = new Temp();
  try {
    const store = temp.path('store');
    const chat = await openChatStore({ dir: store, durability: 'none' });
    await seedStore(chat);
    await chat.sessions.delete('s2', { purge: true });
    await chat.close();

    const exported = ffcdb('export', '--dir', store, '--out', temp.path('first'));
    assert.is(exported.status, 0, exported.stderr);
    assert.match(exported.stdout, /^exported 24 events of 5 streams \(head position 30, 6 gaps\) and 2 blobs \(1 named but no longer stored\) to /);
    const imported = ffcdb('import', '--dir', temp.path('copy'), '--from', temp.path('first'));
    assert.is(imported.status, 0, imported.stderr);
    assert.match(imported.stdout, 'imported 24 events of 5 streams and 2 blobs');
    assert.match(imported.stdout, '6 gap positions kept by placeholders in ffcdb-import-gaps, now purged');
    assert.is(ffcdb('export', '--dir', temp.path('copy'), '--out', temp.path('second')).status, 0);
    assertSameFiles(temp.path('first'), temp.path('second'));
    const session = ffcdb('export', '--dir', store, '--out', temp.path('one'), '--session', 's1');
    assert.is(session.status, 0, session.stderr);
    assert.match(session.stdout, 'exported 15 events of 1 stream');

    const intoStore = ffcdb('import', '--dir', store, '--from', temp.path('first'));
    assert.is(intoStore.status, 2);
    assert.match(intoStore.stderr, /CONFLICT: .*store holds a store; give a new or empty folder/);
    const events = path.join(temp.path('first'), 'events.jsonl');
    fs.writeFileSync(events, fs.readFileSync(events, 'utf8').replace('"version":1,', '"version":7,'));
    const damaged = ffcdb('import', '--dir', temp.path('never'), '--from', temp.path('first'));
    assert.is(damaged.status, 2);
    assert.match(damaged.stderr, 'CORRUPT: events.jsonl line 1 fails its crc32');
    assert.not.ok(fs.existsSync(temp.path('never')));
    for (const args of [['export', '--dir', store], ['import', '--dir', temp.path('x')], ['export', '--dir', temp.path('nothing'), '--out', temp.path('y')]]) {
      const run = ffcdb(...args);
      assert.is(run.status, 2, args.join(' '));
      assert.match(run.stderr, /ffcdb: .*(required|holds no store)/);
    }
    const occupied = ffcdb('export', '--dir', store, '--out', temp.path('second'));
    assert.is(occupied.status, 2);
    assert.match(occupied.stderr, 'CONFLICT');
    assert.equal(fs.readdirSync(temp.root).filter((n) => n.includes('.partial-')), []);
  } finally {
    temp.cleanup();
  }
});

test('SIGTERM stops ffcdb import while it fills gaps: it exits 2 saying so and leaves no folder, partial or whole', async () => {
  const temp = new Temp();
  try {
    const store = temp.path('store');
    const chat = await openChatStore({ dir: store, durability: 'none' });
    await seedStore(chat);
    await chat.close();
    const out = temp.path('export');
    assert.is(ffcdb('export', '--dir', store, '--out', out).status, 0);
    // 50 million trailing gaps (a store that purged that many events) would take minutes to fill.
    const file = path.join(out, 'manifest.json');
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as { headPosition: number; events: { gaps: number } };
    m.headPosition += 50_000_000;
    m.events.gaps += 50_000_000;
    fs.writeFileSync(file, JSON.stringify(m));

    const target = temp.path('copy');
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'import', '--dir', target, '--from', out, '--max-gaps', '50000000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<[number | null, string | null]>((resolve) => child.on('exit', (code, signal) => resolve([code, signal])));
    // Wait until the store being built holds events (the gaps are being filled), then stop it.
    const partial = () => fs.readdirSync(temp.root).filter((n) => n.includes('.partial-'));
    const deadline = Date.now() + 60_000;
    while (!partial().some((n) => fs.existsSync(path.join(temp.root, n, 'feed'))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGTERM');
    const late = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code, signal] = await exited;
    clearTimeout(late);
    assert.is.not(signal, 'SIGKILL', 'the import went on for 30 s after SIGTERM');
    assert.equal([code, signal], [2, null], stderr);
    assert.match(stderr, 'import stopped by SIGTERM; nothing was imported into');
    assert.not.ok(fs.existsSync(target));
    assert.equal(partial(), [], 'no half-built folder is left');
  } finally {
    temp.cleanup();
  }
});

test.run();
