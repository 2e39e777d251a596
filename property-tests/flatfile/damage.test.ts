import fs from 'node:fs';
import path from 'node:path';
import fc from '../support/fc-setup.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AppendResult, RecordedEvent } from '../../src/kernel/types.js';
import { IsolatedReader, type ReadBacks } from '../support/isolated.js';
import {
  type AfterAppend,
  type ErrorInfo,
  type Outcome,
  type ReadResult,
  type Reference,
  STREAMS,
  afterTemplates,
  buildStore,
  eventDiff,
  isPrefix,
  steps,
} from '../support/scenario.js';
import { FolderSnapshot, filesUnder, withTempDir } from '../support/temp.js';

/**
 * Random byte damage in segment and feed files: whatever the store reads back
 * is an exact prefix of what was appended, or it fails with CORRUPT naming a
 * damaged file and a byte offset. Never other data, never another kind of
 * error, never a hang (each case runs in a worker thread with a deadline).
 */

const DEADLINE_MS = 10_000;

interface Damage {
  /** Index into the store's segment files (stream segments and feed segments). */
  file: number;
  /** Byte offset, modulo the file's size. */
  at: number;
  kind: 'flip' | 'set' | 'zero' | 'ones';
  /** flip: the XOR mask (non-zero); set: the new byte; zero/ones: run length. */
  value: number;
}

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ file: fc.nat(), at: fc.nat(), kind: fc.constant<'flip'>('flip'), value: fc.oneof(fc.constantFrom(1, 2, 4, 8, 16, 32, 64, 128), fc.integer({ min: 1, max: 255 })) }),
  fc.record({ file: fc.nat(), at: fc.nat(), kind: fc.constant<'set'>('set'), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ file: fc.nat(), at: fc.nat(), kind: fc.constantFrom<'zero' | 'ones'>('zero', 'ones'), value: fc.integer({ min: 1, max: 24 }) }),
);

/** Applies the damages to the copy in `work`; returns the damaged files (absolute paths in `work`) that really changed. */
function applyDamage(work: string, files: readonly string[], damages: readonly Damage[]): string[] {
  const changed = new Set<string>();
  for (const d of damages) {
    const file = path.join(work, files[d.file % files.length]!);
    const buf = fs.readFileSync(file);
    if (buf.length === 0) continue;
    const before = Buffer.from(buf);
    const at = d.at % buf.length;
    if (d.kind === 'flip') buf[at] = buf[at]! ^ d.value;
    else if (d.kind === 'set') buf[at] = d.value;
    else buf.fill(d.kind === 'zero' ? 0 : 0xff, at, Math.min(buf.length, at + d.value));
    if (!buf.equals(before)) {
      fs.writeFileSync(file, buf);
      changed.add(file);
    }
  }
  return [...changed];
}

/** Checks an error: CORRUPT, naming one of the damaged files and a byte offset inside it. */
function checkCorrupt(err: ErrorInfo, damaged: readonly string[], what: string): void {
  assert.is(err.name, 'FfcdbError', `${what}: not a typed error: ${err.message}`);
  assert.is(err.code, 'CORRUPT', `${what}: ${err.code}: ${err.message}`);
  const file = err.details?.file;
  const offset = err.details?.offset;
  assert.ok(typeof file === 'string' && damaged.includes(file), `${what}: the error names ${String(file)}, not a damaged file (${damaged.join(', ')}): ${err.message}`);
  assert.ok(typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0, `${what}: the error names no byte offset: ${err.message}`);
  assert.ok(err.fileSize === undefined || offset <= err.fileSize, `${what}: offset ${offset} is past the end of ${file} (${err.fileSize} bytes)`);
}

/** Forward reads: an exact prefix of the stream. */
function checkForward(r: ReadResult, expected: readonly RecordedEvent[], damaged: readonly string[], what: string): void {
  const d = isPrefix(r.events, expected);
  assert.not.ok(d, `${what}: ${d}`);
  if (r.error) checkCorrupt(r.error, damaged, what);
}

/** Backward reads: consecutive versions going down, each exactly the event appended with that version; down to 1 unless an error stopped it. */
function checkBackward(r: ReadResult, expected: readonly RecordedEvent[], damaged: readonly string[], what: string): void {
  r.events.forEach((e, i) => {
    const want = expected[e.version - 1];
    assert.ok(want, `${what}: read version ${e.version}, only ${expected.length} were appended`);
    const d = eventDiff(e, want!);
    assert.not.ok(d, `${what}: version ${e.version} differs from what was appended: ${d}`);
    if (i > 0) assert.is(e.version, r.events[i - 1]!.version - 1, `${what}: versions not consecutive`);
  });
  if (r.error) checkCorrupt(r.error, damaged, what);
  else if (r.events.length > 0) assert.is(r.events.at(-1)!.version, 1, `${what}: a backward read without an error stopped before version 1`);
}

function checkOutcome(o: Outcome, ref: Pick<Reference, 'feed' | 'streams'>, damaged: readonly string[], what: string): void {
  if (o.openError) {
    checkCorrupt(o.openError, damaged, `${what}: opening`);
    return;
  }
  checkForward(o.feed, ref.feed, damaged, `${what}: feed`);
  for (const s of STREAMS) {
    checkForward(o.forward[s]!, ref.streams[s]!, damaged, `${what}: ${s} forward`);
    checkBackward(o.backward[s]!, ref.streams[s]!, damaged, `${what}: ${s} backward`);
    // Both directions read the same events when neither failed.
    if (!o.forward[s]!.error && !o.backward[s]!.error) {
      assert.equal(
        o.backward[s]!.events.map((e) => e.version),
        o.forward[s]!.events.map((e) => e.version).reverse(),
        `${what}: ${s} reads different events forward and backward`,
      );
    }
  }
  if (typeof o.head !== 'number') checkCorrupt(o.head, damaged, `${what}: headPosition`);
  for (const s of STREAMS) {
    const v = o.versions[s]!;
    if (typeof v !== 'number') checkCorrupt(v, damaged, `${what}: streamVersion(${s})`);
  }
  // The feed and the streams agree when nothing failed: then it is one exact prefix of everything appended.
  if (!o.feed.error) {
    assert.is(o.head, o.feed.events.length, `${what}: headPosition and the feed disagree`);
    for (const s of STREAMS) {
      if (o.forward[s]!.error || typeof o.versions[s] !== 'number') continue;
      const inFeed = o.feed.events.filter((e) => e.streamId === s).map((e) => e.version);
      assert.equal(o.forward[s]!.events.map((e) => e.version), inFeed, `${what}: stream ${s} and the feed disagree`);
      assert.is(o.versions[s], inFeed.length, `${what}: streamVersion(${s}) and the feed disagree`);
    }
  }
}

/**
 * After appending one event to every stream of the damaged store (a copy of
 * the stream's last event, so a frame written where a damaged one was cut has
 * the same length and fits the old feed entry exactly): appends
 * that fail fail with CORRUPT; the feed and the streams read back as an exact
 * prefix of what survived followed by the new events (or CORRUPT), and a read
 * that does not fail holds every new event it should: acknowledged is there.
 */
function checkAfterAppends(after: NonNullable<ReadBacks['after']>, ref: Reference, damaged: readonly string[], what: string): void {
  for (const a of after.appends) if (a.error) checkCorrupt(a.error, damaged, `${what}: appending to ${a.streamId}`);
  const templates = afterTemplates(ref);
  const news = after.appends
    .filter((a): a is AfterAppend & { result: AppendResult } => a.result !== undefined)
    .map(({ streamId, result }) => {
      const sent = templates[streamId]!;
      assert.is(result.firstVersion, result.lastVersion);
      const e: RecordedEvent = {
        id: '',
        streamId,
        version: result.firstVersion,
        position: result.firstPosition,
        type: sent.type,
        schemaVersion: 1,
        timestamp: -1,
        data: sent.data,
        metadata: sent.metadata ?? {},
      };
      return e;
    });
  let feed = ref.feed;
  if (news.length > 0) {
    const from = news[0]!.position;
    for (const [i, e] of news.entries()) assert.is(e.position, from + i, `${what}: appends after damage got positions ${news.map((n) => n.position).join(', ')}`);
    assert.ok(from <= ref.feed.length + 1, `${what}: appends after damage left a gap: position ${from} after ${ref.feed.length} events`);
    feed = [...ref.feed.slice(0, from - 1), ...news];
  }
  const streams: Record<string, RecordedEvent[]> = {};
  for (const s of STREAMS) {
    const e = news.find((n) => n.streamId === s);
    streams[s] = e ? [...ref.streams[s]!.slice(0, e.version - 1), e] : ref.streams[s]!;
  }
  const o = after.outcome;
  checkOutcome(o, { feed, streams }, damaged, `${what}: after appending`);
  if (o.openError) return;
  if (!o.feed.error) assert.is(o.feed.events.length, feed.length, `${what}: after appending: the feed lacks acknowledged events`);
  for (const e of news) {
    const r = o.forward[e.streamId]!;
    if (!r.error) assert.is(r.events.length, e.version, `${what}: after appending: ${e.streamId} lacks the acknowledged event at version ${e.version}`);
  }
}

const damageSuite = suite('property: random byte damage');
const reader = new IsolatedReader();

async function damageProperty(options: { segmentBytes?: number; appendAfter?: boolean }, numRuns: number): Promise<void> {
  const { appendAfter = false, ...storeOptions } = options;
  await fc.assert(
    fc.asyncProperty(steps(5), fc.array(fc.array(damage, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }), async (plan, cases) =>
      withTempDir('damage', async (tmp) => {
        const orig = path.join(tmp, 'orig');
        const work = path.join(tmp, 'work');
        const ref = await buildStore(orig, plan, storeOptions);
        const files = filesUnder(orig)
          .filter((f) => f.endsWith('.seg') || f.endsWith('.feed'))
          .map((f) => path.relative(orig, f));
        const snapshot = new FolderSnapshot(orig);
        for (const damages of cases) {
          snapshot.restore(work);
          const damaged = applyDamage(fs.realpathSync(work), files, damages);
          const what = `damage ${JSON.stringify(damages)} to ${damaged.map((f) => path.relative(work, f)).join(', ')}`;
          const result = await reader.read(work, DEADLINE_MS, appendAfter ? afterTemplates(ref) : undefined);
          assert.not.ok('hang' in result, `${what}: reopening and reading did not finish within ${DEADLINE_MS} ms`);
          assert.not.ok('crash' in result, `${what}: ${'crash' in result ? result.crash : ''}`);
          const { first, second, after } = result as ReadBacks;
          // Each opening on its own: the first one recovers as the writer, the second sees what it left.
          // (That both read the same is pinned by the truncation test.)
          checkOutcome(first, ref, damaged, `${what}, first opening`);
          checkOutcome(second, ref, damaged, `${what}, second opening`);
          if (appendAfter) checkAfterAppends(after!, ref, damaged, what);
        }
      }),
    ),
    { numRuns },
  );
}

damageSuite('damaged stream and feed segments read back as an exact prefix or fail with CORRUPT naming the file and offset, at the first and the second opening, never hanging', async () => {
  await damageProperty({}, 50);
});

damageSuite('the same holds when streams span several small segment files', async () => {
  await damageProperty({ segmentBytes: 200 }, 50);
});

damageSuite('after damage, appending to every stream never makes the store serve other data: what reads back is what survived plus the new events, or CORRUPT', async () => {
  await damageProperty({ appendAfter: true }, 50);
});

damageSuite.after(async () => {
  await reader.close();
});

damageSuite.run();
