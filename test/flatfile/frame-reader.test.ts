import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/kernel/errors.js';
import { FEED_MAGIC, FRAME_OVERHEAD, HEADER_BYTES, STREAM_MAGIC, encodeFrame } from '../../src/backends/flatfile/frame.js';
import { FileHandles } from '../../src/backends/flatfile/file-handles.js';
import { type ReadFrame, backwardFrames, forwardFrames } from '../../src/backends/flatfile/frame-reader.js';
import { flatfileSuite, tempRoot, thrown } from './unit-helpers.js';

const test = flatfileSuite('flatfile/frame-reader');

const CHUNK = 256 * 1024;
const MAX = 1 << 20;

/** FileHandles that records the length of every read, to prove what was allocated. */
class SpyHandles extends FileHandles {
  reads: number[] = [];
  override read(file: string, position: number, length: number): Buffer {
    this.reads.push(length);
    return super.read(file, position, length);
  }
}

function payload(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = (seed * 2654435761 + 7) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

interface Built {
  file: string;
  bytes: Buffer;
  offsets: number[];
  sizes: number[];
}

let root = '';
let files: SpyHandles;
let big: Built;

function build(name: string, sizes: number[], magic = STREAM_MAGIC): Built {
  const frames: Buffer[] = [];
  const offsets: number[] = [];
  let at = 0;
  sizes.forEach((size, i) => {
    const frame = encodeFrame(
      { magic, flags: 0, count: 1, epoch: 1, rawLength: size, linkOffset: 0, linkSegment: 0, firstVersion: i + 1, firstPosition: i + 1 },
      payload(size, i),
    );
    offsets.push(at);
    at += frame.length;
    frames.push(frame);
  });
  const bytes = Buffer.concat(frames);
  const file = path.join(root, name);
  fs.writeFileSync(file, bytes);
  return { file, bytes, offsets, sizes };
}

/** What a consumer keeps of each frame (the buffer is only valid until the next iteration). */
function keep(frames: Iterable<ReadFrame>): Array<{ offset: number; version: number; payload: string }> {
  const out = [];
  for (const f of frames) {
    out.push({
      offset: f.offset,
      version: f.header.firstVersion,
      payload: f.buf.subarray(f.at + HEADER_BYTES, f.at + HEADER_BYTES + f.header.storedLength).toString('base64'),
    });
  }
  return out;
}

function expected(b: Built, from = 0, to = b.sizes.length) {
  return b.sizes.slice(from, to).map((size, j) => ({ offset: b.offsets[from + j]!, version: from + j + 1, payload: payload(size, from + j).toString('base64') }));
}

function damaged(name: string, b: Built, at: number): string {
  const bytes = Buffer.from(b.bytes);
  bytes[at]! ^= 0x10;
  const file = path.join(root, name);
  fs.writeFileSync(file, bytes);
  return file;
}

test.before(() => {
  root = tempRoot('frame-reader');
  files = new SpyHandles(16);
  // Small frames across several chunks, frames larger than a chunk at the start, in the middle and at the end,
  // and one frame ending exactly on a chunk boundary's neighbourhood.
  const sizes: number[] = [300 * 1024];
  for (let i = 0; i < 1500; i++) sizes.push(50 + ((i * 97) % 400));
  sizes.push(CHUNK + 1);
  for (let i = 0; i < 700; i++) sizes.push((i * 31) % 200);
  sizes.push(2 * CHUNK + 13);
  for (let i = 0; i < 50; i++) sizes.push(1000 + i);
  sizes.push(CHUNK - FRAME_OVERHEAD); // a frame of exactly one chunk
  sizes.push(400 * 1024);
  big = build('big.seg', sizes);
});

test.after(() => {
  files.closeAll();
  fs.rmSync(root, { recursive: true, force: true });
});

test('the test file really spans many chunks and holds frames larger than a chunk', () => {
  assert.ok(big.bytes.length > 6 * CHUNK, `${big.bytes.length} bytes`);
  assert.ok(big.sizes.filter((s) => s + FRAME_OVERHEAD > CHUNK).length >= 4);
  assert.ok(big.sizes.length > 2000);
});

test('forwardFrames yields every frame in order with its offset, header and payload', () => {
  files.reads = [];
  const got = keep(forwardFrames(files, big.file, 0, big.bytes.length, STREAM_MAGIC, MAX));
  assert.is(got.length, big.sizes.length);
  assert.equal(got, expected(big));
  // Large chunked reads, not one read per frame.
  assert.ok(files.reads.length < 40, `${files.reads.length} reads`);
});

test('backwardFrames yields every frame from last to first', () => {
  files.reads = [];
  const got = keep(backwardFrames(files, big.file, big.bytes.length, STREAM_MAGIC, MAX));
  assert.equal(got, expected(big).reverse());
  assert.ok(files.reads.length < 40, `${files.reads.length} reads`);
});

test('both directions yield the same frames, one the reverse of the other', () => {
  const forward = keep(forwardFrames(files, big.file, 0, big.bytes.length, STREAM_MAGIC, MAX));
  const backward = keep(backwardFrames(files, big.file, big.bytes.length, STREAM_MAGIC, MAX));
  assert.equal(backward.reverse(), forward);
});

test('forwardFrames over a sub-range [start, end) yields exactly the frames inside it', () => {
  for (const [from, to] of [
    [1, 2],
    [0, 1],
    [700, 1600],
    [1499, 1503],
    [1501, big.sizes.length],
    [big.sizes.length - 1, big.sizes.length],
    [5, 5],
  ] as const) {
    const end = to < big.sizes.length ? big.offsets[to]! : big.bytes.length;
    const got = keep(forwardFrames(files, big.file, big.offsets[from] ?? big.bytes.length, end, STREAM_MAGIC, MAX));
    assert.equal(got, expected(big, from, to), `[${from}, ${to})`);
  }
});

test('backwardFrames from a frame boundary yields the frames before it, last first', () => {
  for (const to of [0, 1, 2, 1501, 1502, 2203, big.sizes.length - 1]) {
    const end = big.offsets[to]!;
    const got = keep(backwardFrames(files, big.file, end, STREAM_MAGIC, MAX));
    assert.equal(got, expected(big, 0, to).reverse(), `[0, ${to})`);
  }
});

test('a file of many small frames reads the same both ways across chunk refills', () => {
  const sizes = Array.from({ length: 6000 }, (_, i) => (i * 53) % 170);
  const small = build('small.seg', sizes, FEED_MAGIC);
  assert.ok(small.bytes.length > 2 * CHUNK);
  const forward = keep(forwardFrames(files, small.file, 0, small.bytes.length, FEED_MAGIC, MAX));
  assert.equal(forward, expected(small));
  const backward = keep(backwardFrames(files, small.file, small.bytes.length, FEED_MAGIC, MAX));
  assert.equal(backward, expected(small).reverse());
});

test('an empty range yields nothing in either direction', () => {
  assert.equal(keep(forwardFrames(files, big.file, 0, 0, STREAM_MAGIC, MAX)), []);
  assert.equal(keep(backwardFrames(files, big.file, 0, STREAM_MAGIC, MAX)), []);
});

test('a damaged frame in the range throws CORRUPT at that frame, reading forward', () => {
  for (const k of [0, 1, 700, 1501, 2202, big.sizes.length - 1]) {
    const file = damaged(`fwd-${k}.seg`, big, big.offsets[k]! + HEADER_BYTES + Math.floor(big.sizes[k]! / 2));
    const seen: number[] = [];
    const err = thrown(() => {
      for (const f of forwardFrames(files, file, 0, big.bytes.length, STREAM_MAGIC, MAX)) seen.push(f.offset);
    });
    assert.is(err.code, ErrorCode.CORRUPT, `frame ${k}`);
    assert.is(err.details.file, file);
    assert.is(err.details.offset, big.offsets[k], `frame ${k}`);
    // Everything before the damage was delivered, nothing after it.
    assert.equal(seen, big.offsets.slice(0, k));
  }
});

test('a damaged frame in the range throws CORRUPT at that frame, reading backward', () => {
  for (const k of [0, 1, 700, 1501, 2202, big.sizes.length - 1]) {
    const file = damaged(`bwd-${k}.seg`, big, big.offsets[k]! + HEADER_BYTES + Math.floor(big.sizes[k]! / 2));
    const seen: number[] = [];
    const err = thrown(() => {
      for (const f of backwardFrames(files, file, big.bytes.length, STREAM_MAGIC, MAX)) seen.push(f.offset);
    });
    assert.is(err.code, ErrorCode.CORRUPT, `frame ${k}`);
    assert.is(err.details.file, file);
    assert.is(err.details.offset, big.offsets[k], `frame ${k}`);
    assert.equal(seen, big.offsets.slice(k + 1).reverse());
  }
});

test('a damaged header or trailer throws CORRUPT in both directions', () => {
  const k = 900;
  for (const [what, at] of [
    ['magic', big.offsets[k]!],
    ['version', big.offsets[k]! + 4],
    ['stored length', big.offsets[k]! + 16],
    ['trailer length', big.offsets[k + 1]! - 8],
    ['trailer magic', big.offsets[k + 1]! - 2],
  ] as const) {
    const file = damaged(`hdr-${at}.seg`, big, at);
    const fwd = thrown(() => [...forwardFrames(files, file, 0, big.bytes.length, STREAM_MAGIC, MAX)]);
    assert.is(fwd.code, ErrorCode.CORRUPT, `${what} forward`);
    assert.is(fwd.details.file, file);
    const bwd = thrown(() => [...backwardFrames(files, file, big.bytes.length, STREAM_MAGIC, MAX)]);
    assert.is(bwd.code, ErrorCode.CORRUPT, `${what} backward`);
    assert.is(bwd.details.file, file);
  }
});

test('reading with the wrong magic (a feed file read as a stream) throws CORRUPT', () => {
  const feed = build('feed.feed', [10, 20, 30], FEED_MAGIC);
  assert.is(thrown(() => [...forwardFrames(files, feed.file, 0, feed.bytes.length, STREAM_MAGIC, MAX)]).code, ErrorCode.CORRUPT);
  assert.is(thrown(() => [...backwardFrames(files, feed.file, feed.bytes.length, STREAM_MAGIC, MAX)]).code, ErrorCode.CORRUPT);
});

test('a range ending inside a frame throws CORRUPT instead of reading past the committed end', () => {
  const k = 1501; // larger than a chunk
  for (const end of [big.offsets[k]! + 10, big.offsets[k]! + HEADER_BYTES + 5, big.offsets[k + 1]! - 1, big.offsets[3]! + 1]) {
    const err = thrown(() => [...forwardFrames(files, big.file, 0, end, STREAM_MAGIC, MAX)]);
    assert.is(err.code, ErrorCode.CORRUPT, `end ${end}`);
    assert.is(err.details.file, big.file);
  }
  const bwd = thrown(() => [...backwardFrames(files, big.file, big.offsets[k + 1]! - 1, STREAM_MAGIC, MAX)]);
  assert.is(bwd.code, ErrorCode.CORRUPT);
});

test('a header declaring a length above the cap is refused forward without reading more than a chunk', () => {
  const small = build('huge-header-src.seg', Array.from({ length: 3000 }, (_, i) => 100 + (i % 300)));
  const at = small.offsets[10]!;
  const bytes = Buffer.from(small.bytes);
  bytes.writeUInt32LE(0xffff_0000, at + 12);
  bytes.writeUInt32LE(0xffff_0000, at + 16);
  const file = path.join(root, 'huge-header.seg');
  fs.writeFileSync(file, bytes);
  files.reads = [];
  const err = thrown(() => [...forwardFrames(files, file, 0, bytes.length, STREAM_MAGIC, 64 * 1024)]);
  assert.is(err.code, ErrorCode.CORRUPT);
  assert.is(err.details.offset, at);
  assert.ok(Math.max(...files.reads) <= CHUNK, `largest read ${Math.max(...files.reads)}`);
});

test('a frame larger than the reader cap is refused as CORRUPT in both directions', () => {
  const k = 0; // 300 KiB payload
  const cap = 100 * 1024;
  const fwd = thrown(() => [...forwardFrames(files, big.file, 0, big.offsets[k + 1]!, STREAM_MAGIC, cap)]);
  assert.is(fwd.code, ErrorCode.CORRUPT);
  assert.is(fwd.details.offset, 0);
  const bwd = thrown(() => [...backwardFrames(files, big.file, big.offsets[k + 1]!, STREAM_MAGIC, cap)]);
  assert.is(bwd.code, ErrorCode.CORRUPT);
});

test('a trailer declaring a length above the cap is refused backward before reading that many bytes', () => {
  // 3 MiB of small frames; the last trailer claims the frame spans the whole file.
  const sizes = Array.from({ length: 12_000 }, (_, i) => 200 + (i % 50));
  const many = build('trailer-cap.seg', sizes);
  const bytes = Buffer.from(many.bytes);
  bytes.writeUInt32LE(bytes.length, bytes.length - 8);
  fs.writeFileSync(many.file, bytes);
  const cap = 64 * 1024;
  files.reads = [];
  const err = thrown(() => [...backwardFrames(files, many.file, bytes.length, STREAM_MAGIC, cap)]);
  assert.is(err.code, ErrorCode.CORRUPT);
  const largest = Math.max(...files.reads);
  assert.ok(largest <= Math.max(CHUNK, cap + FRAME_OVERHEAD), `read ${largest} bytes for a trailer that declares ${bytes.length} (cap ${cap})`);
});

test('reading a range past the end of a shorter file throws CORRUPT (never a RangeError) in both directions', () => {
  const short = build('short.seg', [100, 200, 300]);
  const end = short.bytes.length + 500;
  assert.is(thrown(() => [...forwardFrames(files, short.file, 0, end, STREAM_MAGIC, MAX)]).code, ErrorCode.CORRUPT);
  assert.is(thrown(() => [...backwardFrames(files, short.file, end, STREAM_MAGIC, MAX)]).code, ErrorCode.CORRUPT);
});

test('reading a file that does not exist is NOT_FOUND', () => {
  const missing = path.join(root, 'missing.seg');
  assert.is(thrown(() => [...forwardFrames(files, missing, 0, 100, STREAM_MAGIC, MAX)]).code, ErrorCode.NOT_FOUND);
  assert.is(thrown(() => [...backwardFrames(files, missing, 100, STREAM_MAGIC, MAX)]).code, ErrorCode.NOT_FOUND);
});

test.run();
