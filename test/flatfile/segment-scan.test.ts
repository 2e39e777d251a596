import * as assert from 'uvu/assert';
import { ErrorCode, FfcdbError } from '../../src/kernel/errors.js';
import { FEED_MAGIC, FLAG_LZ4, HEADER_BYTES, STREAM_MAGIC, encodeFrame } from '../../src/backends/flatfile/frame.js';
import { corruptAt, scanSegment } from '../../src/backends/flatfile/segment-scan.js';
import { flatfileSuite, thrown } from './unit-helpers.js';

const test = flatfileSuite('flatfile/segment-scan');

const FILE = '/data/streams/ab/cd/s1/0000000000000001.seg';
const MAX = 1 << 20;

/** A deterministic pseudo-random payload (so no accidental magic numbers or runs). */
function payload(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** A segment of frames with varied payload sizes; returns the bytes and each frame's offset. */
function segment(sizes: number[], magic = STREAM_MAGIC): { buf: Buffer; offsets: number[]; ends: number[] } {
  const frames: Buffer[] = [];
  const offsets: number[] = [];
  const ends: number[] = [];
  let at = 0;
  let version = 1;
  sizes.forEach((size, i) => {
    const count = (i % 3) + 1;
    const frame = encodeFrame(
      { magic, flags: 0, count, epoch: 1, rawLength: size, linkOffset: i * 100, linkSegment: 1, firstVersion: version, firstPosition: version * 2 },
      payload(size, i + 1),
    );
    offsets.push(at);
    at += frame.length;
    ends.push(at);
    version += count;
    frames.push(frame);
  });
  return { buf: Buffer.concat(frames), offsets, ends };
}

const SIZES = [10, 0, 200, 33, 1000, 7, 64];

test('an empty segment has no frames, ends at 0 and has no torn tail', () => {
  const scan = scanSegment(Buffer.alloc(0), FILE, STREAM_MAGIC, MAX);
  assert.equal(scan.frames, []);
  assert.is(scan.validEnd, 0);
  assert.is(scan.tornTail, undefined);
});

test('a clean segment yields every frame at its offset with its header, and validEnd at the end', () => {
  const { buf, offsets } = segment(SIZES);
  const scan = scanSegment(buf, FILE, STREAM_MAGIC, MAX);
  assert.equal(
    scan.frames.map((f) => f.offset),
    offsets,
  );
  assert.equal(
    scan.frames.map((f) => f.header.storedLength),
    SIZES,
  );
  assert.equal(
    scan.frames.map((f) => f.header.linkOffset),
    SIZES.map((_, i) => i * 100),
  );
  assert.is(scan.frames[0]!.header.firstVersion, 1);
  assert.is(scan.validEnd, buf.length);
  assert.is(scan.tornTail, undefined);
});

test('a clean feed segment scans with the feed magic', () => {
  const { buf, offsets } = segment([5, 6, 7], FEED_MAGIC);
  const scan = scanSegment(buf, FILE, FEED_MAGIC, MAX);
  assert.equal(
    scan.frames.map((f) => f.offset),
    offsets,
  );
  assert.is(scan.tornTail, undefined);
});

test('a torn tail at every offset inside the last frame is reported with validEnd at the last whole frame', () => {
  const { buf, offsets } = segment(SIZES);
  const lastStart = offsets.at(-1)!;
  for (let cut = lastStart + 1; cut < buf.length; cut++) {
    const scan = scanSegment(buf.subarray(0, cut), FILE, STREAM_MAGIC, MAX);
    assert.ok(scan.tornTail, `cut at ${cut}: torn tail expected`);
    assert.is(scan.validEnd, lastStart, `cut at ${cut}`);
    assert.is(scan.frames.length, SIZES.length - 1, `cut at ${cut}`);
    assert.equal(
      scan.frames.map((f) => f.offset),
      offsets.slice(0, -1),
    );
    // A cut inside the header is 'short'; a cut after it fails the whole-frame check.
    assert.is(scan.tornTail!.reason, cut - lastStart < HEADER_BYTES ? 'short' : 'checksum', `cut at ${cut}`);
  }
});

test('a torn tail at every offset of a segment leaves exactly the whole frames before the cut', () => {
  const { buf, ends } = segment(SIZES);
  for (let cut = 0; cut <= buf.length; cut++) {
    const scan = scanSegment(buf.subarray(0, cut), FILE, STREAM_MAGIC, MAX);
    const whole = ends.filter((e) => e <= cut);
    assert.is(scan.frames.length, whole.length, `cut at ${cut}`);
    assert.is(scan.validEnd, whole.at(-1) ?? 0, `cut at ${cut}`);
    assert.is(scan.tornTail !== undefined, cut !== (whole.at(-1) ?? 0), `cut at ${cut}`);
  }
});

test('zero bytes after the last frame (a preallocated or half-written tail) are a torn tail', () => {
  const { buf } = segment(SIZES);
  const scan = scanSegment(Buffer.concat([buf, Buffer.alloc(500)]), FILE, STREAM_MAGIC, MAX);
  assert.is(scan.validEnd, buf.length);
  assert.is(scan.frames.length, SIZES.length);
  assert.is(scan.tornTail?.reason, 'magic');
});

test('a whole last frame with a flipped payload byte is a torn tail (nothing valid follows it)', () => {
  const { buf, offsets } = segment(SIZES);
  const bad = Buffer.from(buf);
  bad[offsets.at(-1)! + HEADER_BYTES + 3]! ^= 0x40;
  const scan = scanSegment(bad, FILE, STREAM_MAGIC, MAX);
  assert.is(scan.validEnd, offsets.at(-1));
  assert.is(scan.tornTail?.reason, 'checksum');
});

test('a torn frame whose header declares a length above the cap is a torn tail, not an allocation', () => {
  const { buf, offsets } = segment(SIZES);
  const bad = Buffer.from(buf);
  bad.writeUInt32LE(0xffff_fff0, offsets.at(-1)! + 12);
  bad.writeUInt32LE(0xffff_fff0, offsets.at(-1)! + 16);
  const scan = scanSegment(bad, FILE, STREAM_MAGIC, MAX);
  assert.is(scan.validEnd, offsets.at(-1));
  assert.is(scan.tornTail?.reason, 'length');
});

test('damage in any middle frame followed by a whole frame throws CORRUPT naming the file and that frame offset', () => {
  const { buf, offsets } = segment(SIZES);
  for (let k = 0; k < SIZES.length - 1; k++) {
    // A payload byte, or (for empty payloads) the checksum itself.
    const at = SIZES[k]! > 0 ? offsets[k]! + HEADER_BYTES + Math.floor(SIZES[k]! / 2) : offsets[k]! + 48;
    const bad = Buffer.from(buf);
    bad[at]! ^= 0x01;
    const err = thrown(() => scanSegment(bad, FILE, STREAM_MAGIC, MAX));
    assert.is(err.code, ErrorCode.CORRUPT, `frame ${k}`);
    assert.is(err.details.file, FILE, `frame ${k}`);
    assert.is(err.details.offset, offsets[k], `frame ${k}`);
    assert.match(err.message, FILE);
    assert.match(err.message, String(offsets[k]));
  }
});

test('a damaged middle header (magic, version, flags, length, range) is CORRUPT at that frame, not a torn tail', () => {
  const { buf, offsets } = segment(SIZES);
  const k = 2;
  const damages: Array<[string, (b: Buffer, at: number) => void]> = [
    ['magic', (b, at) => b.writeUInt32LE(0x12345678, at)],
    ['version', (b, at) => b.writeUInt8(9, at + 4)],
    ['flags', (b, at) => b.writeUInt8(0x80, at + 5)],
    ['length', (b, at) => b.writeUInt32LE(0xffff_ffff, at + 16)],
    ['range', (b, at) => b.writeUInt16LE(0, at + 6)],
    ['checksum', (b, at) => b.writeUInt32LE(b.readUInt32LE(at + 8) + 1, at + 8)],
    ['trailer', (b, at) => b.writeUInt32LE(0, at + 52 + SIZES[k]!)],
  ];
  for (const [name, damage] of damages) {
    const bad = Buffer.from(buf);
    damage(bad, offsets[k]!);
    const err = thrown(() => scanSegment(bad, FILE, STREAM_MAGIC, MAX));
    assert.is(err.code, ErrorCode.CORRUPT, name);
    assert.is(err.details.offset, offsets[k], name);
    assert.is(err.details.file, FILE, name);
  }
});

test('damage in the first frame with whole frames after it is CORRUPT at offset 0', () => {
  const { buf } = segment(SIZES);
  const bad = Buffer.from(buf);
  bad[HEADER_BYTES + 1]! ^= 0xff;
  const err = thrown(() => scanSegment(bad, FILE, STREAM_MAGIC, MAX));
  assert.is(err.code, ErrorCode.CORRUPT);
  assert.is(err.details.offset, 0);
});

test('garbage inserted between two whole frames is CORRUPT at the garbage offset', () => {
  const { buf, offsets } = segment(SIZES);
  const at = offsets[3]!;
  const bad = Buffer.concat([buf.subarray(0, at), Buffer.from('not a frame at all'), buf.subarray(at)]);
  const err = thrown(() => scanSegment(bad, FILE, STREAM_MAGIC, MAX));
  assert.is(err.code, ErrorCode.CORRUPT);
  assert.is(err.details.offset, at);
});

test('a frame of the other kind (feed frame in a stream segment) followed by whole frames is CORRUPT', () => {
  const { buf, offsets } = segment(SIZES);
  const feed = segment([5], FEED_MAGIC).buf;
  const bad = Buffer.concat([buf.subarray(0, offsets[2]!), feed, buf.subarray(offsets[2]!)]);
  const err = thrown(() => scanSegment(bad, FILE, STREAM_MAGIC, MAX));
  assert.is(err.code, ErrorCode.CORRUPT);
  assert.is(err.details.offset, offsets[2]);
});

test('a whole frame embedded after a damaged compressed frame is still found: damage is never mistaken for a torn tail', () => {
  const frames = [0, 1, 2].map((i) =>
    encodeFrame({ magic: STREAM_MAGIC, flags: FLAG_LZ4, count: 1, epoch: 1, rawLength: 999, linkOffset: 0, linkSegment: 0, firstVersion: i + 1, firstPosition: i + 1 }, payload(40, i)),
  );
  const buf = Buffer.concat(frames);
  buf[frames[0]!.length + 60]! ^= 1; // middle frame's payload
  const err = thrown(() => scanSegment(buf, FILE, STREAM_MAGIC, MAX));
  assert.is(err.details.offset, frames[0]!.length);
});

test('a torn last frame whose payload holds the bytes of an earlier whole frame (e.g. an uploaded copy of a log) is still a torn tail', () => {
  // Event data may be arbitrary binary (Uint8Array), stored uncompressed when lz4 does not shrink it,
  // so a payload can contain a byte-exact, checksum-valid frame. Those bytes are inside the torn write,
  // not after it: cutting the tail is correct, refusing to open the store is not. Real frames after
  // damage have newer positions; a copied frame has older ones, which is how the scan tells them apart.
  const { buf } = segment([10, 20]);
  const embedded = encodeFrame({ magic: STREAM_MAGIC, flags: 0, count: 1, epoch: 1, rawLength: 8, linkOffset: 0, linkSegment: 0, firstVersion: 2, firstPosition: 2 }, payload(8, 99));
  const inner = Buffer.concat([payload(16, 5), embedded, payload(16, 6)]);
  const last = encodeFrame({ magic: STREAM_MAGIC, flags: 0, count: 1, epoch: 1, rawLength: inner.length, linkOffset: 0, linkSegment: 0, firstVersion: 4, firstPosition: 8 }, inner);
  const whole = Buffer.concat([buf, last]);
  const lastStart = buf.length;
  assert.is(scanSegment(whole, FILE, STREAM_MAGIC, MAX).frames.length, 3);
  const embeddedEnd = lastStart + HEADER_BYTES + 16 + embedded.length;
  const failures: number[] = [];
  for (let cut = embeddedEnd; cut < whole.length; cut++) {
    try {
      const scan = scanSegment(whole.subarray(0, cut), FILE, STREAM_MAGIC, MAX);
      if (scan.validEnd !== lastStart || !scan.tornTail) failures.push(cut);
    } catch (err) {
      if (!(err instanceof FfcdbError)) throw err;
      failures.push(cut);
    }
  }
  assert.is(failures.length, 0, `${failures.length} of ${whole.length - embeddedEnd} cuts (from ${failures[0]}) were reported as CORRUPT mid-file damage instead of a torn tail at ${lastStart}`);
});

test('corruptAt builds a CORRUPT error with file, offset and reason in details and message', () => {
  const err = corruptAt('/x/y.seg', 1234, 'checksum');
  assert.instance(err, FfcdbError);
  assert.is(err.code, ErrorCode.CORRUPT);
  assert.equal(err.details, { file: '/x/y.seg', offset: 1234, reason: 'checksum' });
  assert.match(err.message, '/x/y.seg');
  assert.match(err.message, '1234');
});

test.run();
