/** Several processes on one store: `supports.crossProcess`, `liveCrossProcess`, and durability 'always' across a kill. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EventStore } from '../../engine/event-store.js';
import type { Ctx, Kit } from './harness.js';
import { SENTINEL, checkInvariants, ev, range, waitFor, withTimeout } from './helpers.js';
import type { WorkerAck, WorkerConfig } from './worker.js';

/** The worker beside this module: worker.ts from source, worker.js once built. */
const WORKER = new URL(`./worker${extname(new URL(import.meta.url).pathname)}`, import.meta.url);

interface Child {
  process: ChildProcess;
  acks(): WorkerAck[];
  /** Resolves with every ack once the process exited; rejects when it failed (unless it was killed). */
  done: Promise<WorkerAck[]>;
}

export function crossProcessTests(kit: Kit): void {
  const { open, record, supports, options } = kit;
  if (!supports.crossProcess) return;
  const backendModule = options.backendModule;
  if (!backendModule) throw new Error(`backendComplianceSuite(${options.name ?? ''}): the backend supports crossProcess, so pass backendModule (where child processes find makeBackend)`);
  const moduleHref = backendModule.url instanceof URL ? backendModule.url.href : /^file:/.test(backendModule.url) ? backendModule.url : pathToFileURL(resolve(backendModule.url)).href;

  function child(ctx: Ctx, tag: string, streams: string[], appends: number): Child {
    const config: WorkerConfig = { module: moduleHref, name: backendModule!.name, dir: ctx.dir, tag, streams, appends };
    // TypeScript (the suite run from source, or a backend module in .ts) needs tsx's loader in the child.
    const ts = [WORKER.pathname, moduleHref].some((p) => /\.[cm]?ts$/.test(p));
    const loader = ts ? ['--import', import.meta.resolve('tsx')] : [];
    const proc = spawn(process.execPath, [...loader, WORKER.pathname, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    // Whole lines only: the last one may still be arriving.
    const acks = () => stdout.split('\n').slice(0, -1).map((l) => JSON.parse(l) as WorkerAck);
    const done = new Promise<WorkerAck[]>((resolve, reject) => {
      proc.on('error', reject);
      proc.on('close', (code, signal) => {
        if (code === 0 || signal === 'SIGKILL') resolve(acks());
        else reject(new Error(`worker ${tag} exited with ${code ?? signal}:\n${stderr}`));
      });
    });
    return { process: proc, acks, done };
  }

  /** Every acknowledged append is stored once, where its ack says, with its data. */
  async function checkAcks(store: EventStore, acks: WorkerAck[]): Promise<void> {
    for (const a of acks) {
      const [e] = await store.readStream(a.streamId, { fromVersion: a.firstVersion, limit: 1 });
      assert.ok(e, `${a.tag} #${a.seq} at ${a.streamId}@${a.firstVersion}`);
      assert.equal(e.position, a.firstPosition, `${a.tag} #${a.seq}: position`);
      assert.deepEqual(e.data, { tag: a.tag, seq: a.seq }, `${a.tag} #${a.seq}: data`);
    }
  }

  {
    const test = kit.section('several processes');

    test('processes appending to shared and own streams at once: every acknowledged event is stored once, where its ack says, and every stream stays gapless', async (ctx) => {
      const store = await open(ctx);
      await store.append('setup', ev(0));
      const children = [0, 1].map((i) => child(ctx, `p${i}`, ['shared', `own-${i}`], 30));
      for (let i = 0; i < 30; i++) await store.append(i % 2 ? 'shared' : 'own-parent', ev(i));
      const acks = (await Promise.all(children.map((c) => c.done))).flat();
      assert.equal(acks.length, 60, 'every append of every child was acknowledged');
      await checkAcks(store, acks);
      await checkInvariants(store);
      assert.equal(await store.headPosition(), 91);
      const writers = new Set((await store.readStream('shared')).map((e) => (e.data as { tag?: string }).tag ?? 'parent'));
      assert.deepEqual([...writers].sort(), ['p0', 'p1', 'parent'], 'the shared stream holds events of every process');
    });
  }

  if (supports.liveCrossProcess) {
    const test = kit.section('live commits from another process');

    test("a feed subscriber receives another process's appends as they commit, in position order, without this process appending", async (ctx) => {
      const store = await open(ctx);
      await store.append('setup', ev(0));
      const rec = record(ctx, store.subscribeToAll({ afterPosition: 1 }));
      const heads: number[] = [];
      const sub = store.commits$.subscribe((h) => heads.push(h));
      try {
        // Each stage has a bound of its own under the test's, so a stall names the stage it happened in.
        const stage = kit.timeoutMs * 0.6;
        const acks = await withTimeout(child(ctx, 'live', ['elsewhere'], 10).done, stage, "the other process's 10 appends");
        await withTimeout(rec.count(10), stage, "the subscriber's 10 events");
        assert.deepEqual(rec.events.map((e) => e.position), range(2, 11));
        assert.deepEqual(rec.events.map((e) => (e.data as { seq: number }).seq), acks.map((a) => a.seq));
        // The subscriber reads up to the head it finds, which can run ahead of the commit notice that woke it:
        // commits$ reports the other process's last head on its next notice, not necessarily before the events arrive.
        await waitFor(() => heads.includes(11), kit.timeoutMs / 2, `commits$ to report the other process's head 11`);
        await withTimeout(rec.sentinel(() => store.append('z', SENTINEL)), stage, "this process's sentinel, appended after the other process closed");
      } finally {
        sub.unsubscribe();
      }
    });
  }

  if (supports.persistent && options.durability === 'always') {
    const test = kit.section("durability 'always'");

    test('every append acknowledged before the writing process is killed is there after reopening', async (ctx) => {
      const store = await open(ctx);
      await store.append('setup', ev(0));
      await store.close();
      const writer = child(ctx, 'killed', ['a', 'b', 'c'], 1_000_000);
      const until = Date.now() + kit.timeoutMs / 2;
      while (writer.acks().length < 25 && writer.process.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      writer.process.kill('SIGKILL');
      const acks = await writer.done;
      assert.ok(acks.length >= 25, `the writer acknowledged ${acks.length} appends before it was killed`);
      const reopened = await open(ctx);
      await checkAcks(reopened, acks);
      await checkInvariants(reopened);
    });
  }
}
