import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { openChatStore } from '../../src/chat/chat-store.js';
import type { ChatLine, ChatWorkerConfig } from '../support/chat-ops.js';
import { parseLines } from '../support/workload.js';
import { flatfileSuite, tempRoot } from '../flatfile/unit-helpers.js';
import { until } from './helpers.js';

const test = flatfileSuite('projections: following another process');

const WORKER = fileURLToPath(new URL('../support/chat-worker.ts', import.meta.url));

test("a store open in this process follows another process's chat writes through commits$: its projections advance while the other writes, end at the head, and agree with the log", async () => {
  const root = tempRoot('follow');
  const dir = path.join(root, 'store');
  try {
    const chat = await openChatStore({ dir, pollMs: 10 });
    try {
      const positions = new Set<number>();
      const sample = setInterval(() => positions.add(chat.projections.position), 5);
      const ackFile = path.join(root, 'acks.jsonl');
      const config: ChatWorkerConfig = { dir, tag: 'w', ackFile, seed: 7, ops: 60, snapshotEvery: 1000 };
      const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.is(code, 0, stderr);
      const head = await chat.events.headPosition();
      // Nothing here asks the runner to catch up: only commits$ moves it. The bound is generous
      // because a loaded 2-core machine (CI runs beside nothing, a developer's may not) once took over 5 s.
      await until(() => chat.projections.position === head, 30_000, `the projections to reach the head ${head}`);
      clearInterval(sample);
      assert.ok([...positions].some((p) => p > 0 && p < head), `the projections advanced while the other process wrote (saw ${[...positions].sort((a, b) => a - b).join(', ')})`);

      for (const name of chat.projections.names) {
        const c = await chat.projections.compare(name);
        assert.ok(c.identical, `${name}: ${c.differences.join('\n')}`);
      }
      const lines = parseLines<ChatLine>(fs.readFileSync(ackFile, 'utf8'));
      const created = new Set<string>();
      for (const l of lines) {
        if (l.kind !== 'ack') continue;
        if (l.op === 'session.create') created.add(l.sessionId);
        if (l.op === 'session.delete') created.delete(l.sessionId);
      }
      const listed = (await chat.sessions.list('w-u', { limit: 100, archived: 'any' })).items.map((s) => s.sessionId);
      assert.equal(listed.sort(), [...created].sort());
    } finally {
      await chat.close();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test.run();
