/**
 * The shared compliance suite of the BlobStore contract. Every implementation
 * runs it from its own test file:
 *
 *   blobStoreCompliance('memory', () => new MemoryBlobStore());
 *
 * Each test gets a fresh temporary folder for a persistent store. A store that
 * keeps files gives `storedFiles`, every file it holds in that folder, so the
 * suite can prove that a failed put leaves nothing behind and that content is
 * stored once.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import * as assert from 'uvu/assert';
import type { BlobStore } from '../../src/blobs/blob-store.js';
import { ErrorCode } from '../../src/kernel/errors.js';
import { flatfileSuite, rejected, rng, tempRoot } from '../flatfile/unit-helpers.js';

export type MakeBlobStore = (ctx: { dir: string }, options?: { maxBytes?: number }) => BlobStore;

export interface BlobComplianceOptions {
  /** Every file the store keeps under `dir`, relative and sorted (lock files aside). */
  storedFiles?: (dir: string) => string[];
}

export const BAD_HASHES: unknown[] = [
  '../../etc/passwd',
  `../${'a'.repeat(61)}`,
  'A'.repeat(64),
  `${'a'.repeat(63)}F`,
  'a'.repeat(63),
  'a'.repeat(65),
  `${'a'.repeat(62)}/b`,
  `${'a'.repeat(63)}\0`,
  '',
  'g'.repeat(64),
  42,
  null,
  undefined,
];

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Seeded pseudo-random bytes, so a failure reproduces. */
export function bytes(seed: number, n: number): Buffer {
  const next = rng(seed);
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
  return out;
}

/** A Readable yielding `data` in chunks of `chunk` bytes, then failing with `fail` if given. */
export function chunked(data: Uint8Array, chunk: number, fail?: Error): Readable {
  let at = 0;
  return new Readable({
    read() {
      if (at < data.length) {
        this.push(data.subarray(at, at + chunk));
        at += chunk;
      } else if (fail) this.destroy(fail);
      else this.push(null);
    },
  });
}

export async function drain(stream: NodeJS.ReadableStream): Promise<{ data: Buffer; chunks: number }> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c as Uint8Array));
  return { data: Buffer.concat(parts), chunks: parts.length };
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export function blobStoreCompliance(name: string, make: MakeBlobStore, options: BlobComplianceOptions = {}): void {
  let dir = '';
  let stores: BlobStore[] = [];
  const suites: ReturnType<typeof flatfileSuite>[] = [];

  function define(title: string) {
    const t = flatfileSuite(`${name} blob store: ${title}`);
    suites.push(t);
    t.before.each(() => {
      dir = tempRoot(`blobs-${name}`);
      stores = [];
    });
    t.after.each(async () => {
      await Promise.allSettled(stores.map((s) => s.close()));
      fs.rmSync(dir, { recursive: true, force: true });
    });
    return t;
  }

  function open(opts?: { maxBytes?: number }): BlobStore {
    const s = make({ dir }, opts);
    stores.push(s);
    return s;
  }

  /** Nothing but the blobs listed is kept: no blob, no temporary file of a failed put. */
  async function assertHolds(store: BlobStore, blobs: Uint8Array[]): Promise<void> {
    const expected = blobs.map((b) => ({ sha256: sha256(b), size: b.length })).sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1));
    assert.equal(await collect(store.list()), expected, 'list() shows exactly these blobs');
    if (options.storedFiles) assert.is(options.storedFiles(dir).length, blobs.length, `files kept: ${options.storedFiles(dir).join(', ')}`);
  }

  async function assertReadsBack(store: BlobStore, data: Buffer): Promise<void> {
    const h = sha256(data);
    assert.ok(await store.has(h), 'has() finds it');
    assert.equal(await store.stat(h), { sha256: h, size: data.length });
    assert.ok((await store.read(h)).equals(data), 'read() returns the same bytes');
    assert.ok((await drain(await store.openRead(h))).data.equals(data), 'openRead() streams the same bytes');
  }

  // ------------------------------------------------------------ round trips
  {
    const test = define('put and read back');

    test('put from a Buffer returns the sha256 of the bytes and their size, and they read back whole and streamed', async () => {
      const store = open();
      const data = bytes(1, 300_000);
      const info = await store.put(data);
      assert.equal(info, { sha256: sha256(data), size: data.length, created: true });
      await assertReadsBack(store, data);
    });

    test('put from a Readable of many small chunks stores the same bytes', async () => {
      const store = open();
      const data = bytes(2, 3 * 2 ** 20 + 17);
      const info = await store.put(chunked(data, 65_536));
      assert.equal(info, { sha256: sha256(data), size: data.length, created: true });
      await assertReadsBack(store, data);
    });

    test('put from an async generator of Uint8Array chunks (not Buffers) stores the same bytes', async () => {
      const store = open();
      const data = bytes(3, 2 ** 20 * 2 + 5);
      async function* gen() {
        for (let at = 0; at < data.length; at += 999_983) {
          await sleep(0);
          yield new Uint8Array(data.buffer, data.byteOffset + at, Math.min(999_983, data.length - at));
        }
      }
      const info = await store.put(gen());
      assert.equal(info, { sha256: sha256(data), size: data.length, created: true });
      await assertReadsBack(store, data);
    });

    test('an empty blob is stored and reads back empty', async () => {
      const store = open();
      const info = await store.put(Buffer.alloc(0));
      assert.equal(info, { sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', size: 0, created: true });
      await assertReadsBack(store, Buffer.alloc(0));
      assert.equal(await store.put(chunked(Buffer.alloc(0), 1)), { ...info, created: false }, 'an empty stream is the same blob');
    });

    test('the stored blob is a copy: changing the source buffer afterwards changes nothing', async () => {
      const store = open();
      const data = bytes(4, 1000);
      const original = Buffer.from(data);
      const { sha256: h } = await store.put(data);
      data.fill(0);
      assert.ok((await store.read(h)).equals(original));
      (await store.read(h)).fill(1);
      assert.ok((await store.read(h)).equals(original), 'nor does changing what read() returned');
    });
  }

  // ------------------------------------------------------------ stored once
  {
    const test = define('content is stored once');

    test('putting the same bytes again, from any kind of source, returns created: false and keeps one copy', async () => {
      const store = open();
      const data = bytes(5, 200_000);
      const first = await store.put(data);
      assert.is(first.created, true);
      assert.equal(await store.put(Buffer.from(data)), { ...first, created: false });
      assert.equal(await store.put(chunked(data, 4096)), { ...first, created: false });
      await assertHolds(store, [data]);
      await assertReadsBack(store, data);
    });

    test('concurrent puts of the same bytes: exactly one reports created, one copy is kept', async () => {
      const store = open();
      const data = bytes(6, 1_500_000);
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => store.put(i % 2 ? data : chunked(data, 100_000))));
      assert.is(results.filter((r) => r.created).length, 1, 'one put created the blob');
      for (const r of results) assert.is(r.sha256, sha256(data));
      await assertHolds(store, [data]);
      await assertReadsBack(store, data);
    });

    test('different bytes are different blobs', async () => {
      const store = open();
      const a = bytes(7, 5000);
      const b = Buffer.from(a);
      b.writeUInt8(b.readUInt8(4999) ^ 1, 4999);
      assert.is((await store.put(a)).created, true);
      assert.is((await store.put(b)).created, true);
      await assertHolds(store, [a, b]);
    });
  }

  // ------------------------------------------------------------ refused puts leave nothing
  {
    const test = define('a refused put leaves nothing behind');

    test('a Buffer over maxBytes is INVALID_ARGUMENT on data, and nothing is kept', async () => {
      const store = open();
      const err = await rejected(store.put(bytes(8, 1001), { maxBytes: 1000 }));
      assert.is(err.code, ErrorCode.INVALID_ARGUMENT);
      assert.is(err.details.field, 'data');
      assert.match(err.message, /maxBytes/);
      await assertHolds(store, []);
    });

    test('a stream over maxBytes is refused as soon as it passes the limit, the stream is destroyed, nothing is kept', async () => {
      const store = open();
      const source = chunked(bytes(9, 5 * 2 ** 20), 65_536);
      const err = await rejected(store.put(source, { maxBytes: 2 ** 20 * 2 + 1 }));
      assert.is(err.code, ErrorCode.INVALID_ARGUMENT);
      assert.is(err.details.field, 'data');
      assert.ok(source.destroyed, 'the source stream was destroyed, not read to its end');
      await assertHolds(store, []);
    });

    test("the store's maxBytes applies when put names none; exactly maxBytes is accepted", async () => {
      const store = open({ maxBytes: 4096 });
      assert.is((await rejected(store.put(chunked(bytes(10, 4097), 1000)))).code, ErrorCode.INVALID_ARGUMENT);
      await assertHolds(store, []);
      const ok = bytes(11, 4096);
      assert.is((await store.put(ok)).created, true);
      assert.is((await store.put(bytes(12, 5000), { maxBytes: 5000 })).created, true, 'put may raise the limit for one call');
    });

    test('expectedSha256 that does not match the bytes is INVALID_ARGUMENT on data, and nothing is kept', async () => {
      const store = open();
      const data = bytes(13, 2 ** 20 + 3);
      const wrong = sha256(Buffer.from('something else'));
      for (const source of [() => data, () => chunked(data, 100_000)]) {
        const err = await rejected(store.put(source(), { expectedSha256: wrong }));
        assert.is(err.code, ErrorCode.INVALID_ARGUMENT);
        assert.is(err.details.field, 'data');
        assert.is(err.details.sha256, sha256(data));
        await assertHolds(store, []);
      }
      assert.is((await store.put(data, { expectedSha256: sha256(data) })).created, true, 'the right hash is accepted');
    });

    test('a source stream that fails midway is INVALID_ARGUMENT on data with the error as cause, and nothing is kept', async () => {
      const store = open();
      const boom = new Error('client went away');
      const err = await rejected(store.put(chunked(bytes(14, 3 * 2 ** 20), 65_536, boom)));
      assert.is(err.code, ErrorCode.INVALID_ARGUMENT);
      assert.is(err.details.field, 'data');
      assert.is(err.cause, boom);
      async function* failing() {
        yield bytes(15, 2 ** 20 + 1);
        throw boom;
      }
      assert.is((await rejected(store.put(failing()))).cause, boom);
      await assertHolds(store, []);
    });

    test('a source that is not bytes, or yields strings, is INVALID_ARGUMENT on data', async () => {
      const store = open();
      for (const bad of ['text', 42, null, {}, [Buffer.from('x')]]) {
        const err = await rejected(store.put(bad as never));
        assert.is(err.code, ErrorCode.INVALID_ARGUMENT, String(bad));
        assert.is(err.details.field, 'data');
      }
      const err = await rejected(store.put(Readable.from(['a', 'b'])));
      assert.is(err.code, ErrorCode.INVALID_ARGUMENT);
      assert.match(err.message, /string chunk/);
      await assertHolds(store, []);
    });

    test('bad put options are INVALID_ARGUMENT naming the option, or INVALID_ID for a malformed expectedSha256', async () => {
      const store = open();
      for (const maxBytes of [-1, 1.5, Number.NaN, '10']) {
        const err = await rejected(store.put(Buffer.from('x'), { maxBytes: maxBytes as number }));
        assert.is(err.code, ErrorCode.INVALID_ARGUMENT);
        assert.is(err.details.field, 'maxBytes');
      }
      const err = await rejected(store.put(Buffer.from('x'), { expectedSha256: 'A'.repeat(64) }));
      assert.is(err.code, ErrorCode.INVALID_ID);
      assert.is(err.details.field, 'expectedSha256');
      await assertHolds(store, []);
    });
  }

  // ------------------------------------------------------------ reading
  {
    const test = define('reading');

    test('openRead with a range streams exactly those bytes; end is exclusive and clamped to the size', async () => {
      const store = open();
      const data = bytes(16, 2 ** 20 + 12_345);
      const { sha256: h } = await store.put(data);
      const cases: [number | undefined, number | undefined][] = [
        [0, 1],
        [300_000, 900_001],
        [262_143, 262_145],
        [undefined, 10],
        [2 ** 20, undefined],
        [5, 5],
        [data.length, undefined],
        [data.length - 1, data.length + 1000],
      ];
      for (const [start, end] of cases) {
        const range = { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) };
        const got = (await drain(await store.openRead(h, range))).data;
        assert.ok(got.equals(data.subarray(start ?? 0, end ?? data.length)), `range ${JSON.stringify(range)}: ${got.length} bytes`);
      }
    });

    test('openRead refuses a range starting past the end (range.start), ending before it starts (range.end), or not integers', async () => {
      const store = open();
      const { sha256: h } = await store.put(bytes(17, 100));
      const cases: [Record<string, unknown>, string][] = [
        [{ start: 101 }, 'range.start'],
        [{ start: 10, end: 9 }, 'range.end'],
        [{ start: -1 }, 'range.start'],
        [{ end: 1.5 }, 'range.end'],
        [{ start: '0' }, 'range.start'],
      ];
      for (const [range, field] of cases) {
        const err = await rejected(store.openRead(h, range as never));
        assert.is(err.code, ErrorCode.INVALID_ARGUMENT, JSON.stringify(range));
        assert.is(err.details.field, field);
      }
    });

    test('openRead with the recorded size: ranges are judged by it; a blob of another size is CORRUPT for a whole read or a range past its real end', async () => {
      const store = open();
      const data = bytes(30, 27);
      const { sha256: h } = await store.put(data);
      // The right size changes nothing.
      assert.ok((await drain(await store.openRead(h, undefined, { expectedSize: 27 }))).data.equals(data));
      assert.ok((await drain(await store.openRead(h, { start: 3, end: 100 }, { expectedSize: 27 }))).data.equals(data.subarray(3)));
      // A record saying 40 bytes: the blob lost its last 13, as far as the caller can tell.
      for (const range of [undefined, {}, { start: 0 }, { start: 20, end: 30 }, { start: 27 }, { end: 40 }]) {
        const err = await rejected(store.openRead(h, range, { expectedSize: 40 }));
        assert.is(err.code, ErrorCode.CORRUPT, JSON.stringify(range));
        assert.is(err.details.sha256, h);
        assert.is(err.details.size, 27);
        assert.is(err.details.expectedSize, 40);
        assert.match(err.message, 'not the 40 recorded');
      }
      // A range inside the bytes there are still reads; one past the recorded size is the caller's mistake (416), not damage.
      assert.ok((await drain(await store.openRead(h, { start: 5, end: 27 }, { expectedSize: 40 }))).data.equals(data.subarray(5)));
      assert.is((await rejected(store.openRead(h, { start: 41 }, { expectedSize: 40 }))).details.field, 'range.start');
      // A record saying 20 bytes: the whole blob (so also bytes 0 to 20) is not what was recorded; a range inside it reads.
      for (const range of [undefined, { end: 20 }]) assert.is((await rejected(store.openRead(h, range, { expectedSize: 20 }))).code, ErrorCode.CORRUPT);
      assert.ok((await drain(await store.openRead(h, { start: 1, end: 20 }, { expectedSize: 20 }))).data.equals(data.subarray(1, 20)));
      for (const expectedSize of [-1, 1.5, '27', null]) {
        const err = await rejected(store.openRead(h, undefined, { expectedSize } as never));
        assert.is(err.code, ErrorCode.INVALID_ARGUMENT, String(expectedSize));
        assert.is(err.details.field, 'expectedSize');
      }
    });

    test('a missing blob is NOT_FOUND for stat, read and openRead, false for has and delete', async () => {
      const store = open();
      const h = sha256(Buffer.from('never stored'));
      for (const op of [() => store.stat(h), () => store.read(h), () => store.openRead(h)]) {
        const err = await rejected(op());
        assert.is(err.code, ErrorCode.NOT_FOUND);
        assert.is(err.details.sha256, h);
      }
      assert.is(await store.has(h), false);
      assert.is(await store.delete(h), false);
    });

    test('every operation refuses a malformed hash (path traversal, uppercase, 63 or 65 digits, non-hex) with INVALID_ID on sha256', async () => {
      const store = open();
      await store.put(Buffer.from('something'));
      for (const bad of BAD_HASHES) {
        const h = bad as string;
        for (const op of [() => store.has(h), () => store.stat(h), () => store.read(h), () => store.openRead(h), () => store.delete(h)]) {
          const err = await rejected(op());
          assert.is(err.code, ErrorCode.INVALID_ID, `${String(bad)}`);
          assert.is(err.details.field, 'sha256');
        }
      }
    });
  }

  // ------------------------------------------------------------ delete and list
  {
    const test = define('delete and list');

    test('delete removes the blob (true), a second delete finds nothing (false), and the same bytes can be stored again', async () => {
      const store = open();
      const data = bytes(18, 70_000);
      const keep = bytes(19, 10);
      const { sha256: h } = await store.put(data);
      await store.put(keep);
      assert.is(await store.delete(h), true);
      assert.is(await store.has(h), false);
      assert.is((await rejected(store.read(h))).code, ErrorCode.NOT_FOUND);
      assert.is(await store.delete(h), false);
      await assertHolds(store, [keep]);
      assert.is((await store.put(data)).created, true);
      await assertReadsBack(store, data);
    });

    test('list yields every blob with its size, in hash order', async () => {
      const store = open();
      assert.equal(await collect(store.list()), [], 'an empty store lists nothing');
      const blobs = Array.from({ length: 40 }, (_, i) => bytes(100 + i, i * 37));
      for (const b of blobs) await store.put(b);
      const listed = await collect(store.list());
      assert.equal(listed.map((x) => x.sha256), blobs.map(sha256).sort());
      await assertHolds(store, blobs);
      await store.delete(sha256(blobs[3]!));
      await assertHolds(store, blobs.filter((_, i) => i !== 3));
    });
  }

  // ------------------------------------------------------------ the lock
  {
    const test = define('withLock');

    test('overlapping withLock calls run one at a time, in call order, and return what fn returns', async () => {
      const store = open();
      let inside = 0;
      let most = 0;
      const order: number[] = [];
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.withLock(async () => {
            inside++;
            most = Math.max(most, inside);
            order.push(i);
            await sleep(i % 3);
            await store.has(sha256(Buffer.from(String(i))));
            inside--;
            return i * 10;
          }),
        ),
      );
      assert.is(most, 1, 'never two at once');
      assert.equal(order, [0, 1, 2, 3, 4, 5, 6, 7]);
      assert.equal(results, [0, 10, 20, 30, 40, 50, 60, 70]);
    });

    test("fn's error rejects withLock and the lock is free again for the next caller", async () => {
      const store = open();
      const boom = new Error('fn failed');
      const failed = store.withLock(async () => {
        throw boom;
      });
      const next = store.withLock(async () => 'ran');
      try {
        await failed;
        assert.unreachable('withLock should reject');
      } catch (err) {
        assert.is(err, boom);
      }
      assert.is(await next, 'ran');
    });

    test('put, has and delete work inside withLock (they do not take the lock); withLock inside withLock is refused with LOCKED', async () => {
      const store = open();
      const data = bytes(20, 1000);
      const out = await store.withLock(async () => {
        const { sha256: h } = await store.put(data);
        const had = await store.has(h);
        const nested = await rejected(store.withLock(async () => 'never'));
        assert.is(await store.delete(h), true);
        return { had, nested: nested.code };
      });
      assert.equal(out, { had: true, nested: ErrorCode.LOCKED });
      assert.is(await store.withLock(async () => 'free'), 'free', 'the refused nested call did not keep the lock');
    });

    test('work that fn starts and that calls withLock after fn has finished is not taken for a nested call', async () => {
      const store = open();
      let later: Promise<string> | undefined;
      await store.withLock(async () => {
        later = sleep(5).then(() => store.withLock(async () => 'later'));
      });
      assert.is(await later, 'later');
    });
  }

  // ------------------------------------------------------------ close
  {
    const test = define('close');

    test('close waits for a put in flight, and every later call fails with CLOSED', async () => {
      const store = open();
      const data = bytes(21, 2 ** 20);
      const putting = store.put(chunked(data, 65_536));
      await store.close();
      assert.is((await putting).created, true, 'the put in flight finished');
      const h = sha256(data);
      for (const op of [() => store.put(data), () => store.has(h), () => store.stat(h), () => store.read(h), () => store.openRead(h), () => store.delete(h), () => store.withLock(async () => 1), () => collect(store.list())]) {
        assert.is((await rejected(op())).code, ErrorCode.CLOSED);
      }
    });
  }

  for (const s of suites) s.run();
}
