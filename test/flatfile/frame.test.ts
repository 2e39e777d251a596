import * as assert from 'uvu/assert';
import {
  FEED_MAGIC,
  FLAG_BLANKED,
  FLAG_GROUP_END,
  FLAG_LZ4,
  FORMAT_VERSION,
  FRAME_OVERHEAD,
  type FrameHeader,
  HEADER_BYTES,
  STREAM_MAGIC,
  TRAILER_BYTES,
  encodeFrame,
  frameIntact,
  frameLength,
  framePayload,
  parseHeader,
  setLink,
} from '../../src/backends/flatfile/frame.js';
import { flatfileSuite } from './unit-helpers.js';

const test = flatfileSuite('flatfile/frame');

const MAX = 1 << 20;

function header(over: Partial<Omit<FrameHeader, 'storedLength'>> = {}): Omit<FrameHeader, 'storedLength'> {
  return {
    magic: STREAM_MAGIC,
    flags: 0,
    count: 3,
    epoch: 7,
    rawLength: 5,
    linkOffset: 1234,
    linkSegment: 17,
    firstVersion: 42,
    firstPosition: 99,
    ...over,
  };
}

const PAYLOAD = Buffer.from('hello');

function parsed(buf: Buffer, at = 0, magic = STREAM_MAGIC, max = MAX): FrameHeader {
  const h = parseHeader(buf, at, magic, max);
  if (typeof h === 'string') throw new Error(`expected a header, got problem '${h}'`);
  return h;
}

function writeU64(buf: Buffer, at: number, hi: number, lo: number): void {
  buf.writeUInt32LE(lo, at);
  buf.writeUInt32LE(hi, at + 4);
}

test('the frame layout constants match the documented 52-byte header and 8-byte trailer', () => {
  assert.is(HEADER_BYTES, 52);
  assert.is(TRAILER_BYTES, 8);
  assert.is(FRAME_OVERHEAD, 60);
  assert.is(FORMAT_VERSION, 1);
  assert.is(frameLength(0), 60);
  assert.is(frameLength(100), 160);
  // The magic numbers spell 'FFCS' and 'FFCF' in file order.
  const b = Buffer.alloc(8);
  b.writeUInt32LE(STREAM_MAGIC, 0);
  b.writeUInt32LE(FEED_MAGIC, 4);
  assert.is(b.toString('latin1'), 'FFCSFFCF');
});

test('every header field round-trips through encodeFrame and parseHeader', () => {
  const h = header({
    flags: FLAG_GROUP_END,
    count: 65_535,
    epoch: 0xffff_ffff,
    linkOffset: 0xffff_fffe,
    linkSegment: 2 ** 53 - 1,
    firstVersion: 2 ** 40 + 3,
    firstPosition: 2 ** 32 + 1,
  });
  const frame = encodeFrame(h, PAYLOAD);
  assert.is(frame.length, frameLength(PAYLOAD.length));
  const back = parsed(frame);
  assert.equal(back, { ...h, storedLength: PAYLOAD.length });
  assert.ok(frameIntact(frame, 0, back));
  assert.equal(framePayload(frame, 0, back), PAYLOAD);
});

test('the on-disk bytes sit at their documented offsets (little-endian), with the trailer repeating length and magic', () => {
  const frame = encodeFrame(header({ flags: FLAG_LZ4, rawLength: 9 }), PAYLOAD);
  assert.is(frame.readUInt32LE(0), STREAM_MAGIC);
  assert.is(frame.readUInt8(4), FORMAT_VERSION);
  assert.is(frame.readUInt8(5), FLAG_LZ4);
  assert.is(frame.readUInt16LE(6), 3);
  assert.is(frame.readUInt32LE(8), 7);
  assert.is(frame.readUInt32LE(12), 9);
  assert.is(frame.readUInt32LE(16), PAYLOAD.length);
  assert.is(frame.readUInt32LE(20), 1234);
  assert.is(Number(frame.readBigUInt64LE(24)), 17);
  assert.is(Number(frame.readBigUInt64LE(32)), 42);
  assert.is(Number(frame.readBigUInt64LE(40)), 99);
  assert.equal(frame.subarray(52, 52 + PAYLOAD.length), PAYLOAD);
  assert.is(frame.readUInt32LE(52 + PAYLOAD.length), frame.length);
  assert.is(frame.readUInt32LE(56 + PAYLOAD.length), STREAM_MAGIC);
});

test('a feed frame with an empty payload and both flags round-trips', () => {
  const h = header({ magic: FEED_MAGIC, flags: FLAG_LZ4 | FLAG_GROUP_END, rawLength: 0, count: 1, firstVersion: 1, firstPosition: 1, linkSegment: 0, linkOffset: 0 });
  const frame = encodeFrame(h, Buffer.alloc(0));
  assert.is(frame.length, FRAME_OVERHEAD);
  const back = parsed(frame, 0, FEED_MAGIC);
  assert.equal(back, { ...h, storedLength: 0 });
  assert.ok(frameIntact(frame, 0, back));
});

test('a compressed frame may declare a raw length different from its stored length', () => {
  const frame = encodeFrame(header({ flags: FLAG_LZ4, rawLength: 5000 }), PAYLOAD);
  const back = parsed(frame);
  assert.is(back.rawLength, 5000);
  assert.is(back.storedLength, PAYLOAD.length);
});

test('frames are parsed at any offset of a larger buffer', () => {
  const a = encodeFrame(header({ firstVersion: 1 }), Buffer.from('first'));
  const b = encodeFrame(header({ firstVersion: 4, rawLength: 6 }), Buffer.from('second'));
  const buf = Buffer.concat([Buffer.from('junk'), a, b]);
  const ha = parsed(buf, 4);
  const hb = parsed(buf, 4 + a.length);
  assert.is(ha.firstVersion, 1);
  assert.is(hb.firstVersion, 4);
  assert.ok(frameIntact(buf, 4, ha));
  assert.ok(frameIntact(buf, 4 + a.length, hb));
  assert.is(framePayload(buf, 4 + a.length, hb).toString(), 'second');
});

test("parseHeader reports 'short' when fewer than 52 bytes remain", () => {
  const frame = encodeFrame(header(), PAYLOAD);
  for (let n = 0; n < HEADER_BYTES; n++) assert.is(parseHeader(frame.subarray(0, n), 0, STREAM_MAGIC, MAX), 'short', `length ${n}`);
  assert.is(parseHeader(frame, frame.length - 51, STREAM_MAGIC, MAX), 'short');
  assert.type(parseHeader(frame.subarray(0, HEADER_BYTES), 0, STREAM_MAGIC, MAX), 'object');
});

test("parseHeader reports 'magic' for the other kind of frame and for garbage", () => {
  const frame = encodeFrame(header(), PAYLOAD);
  assert.is(parseHeader(frame, 0, FEED_MAGIC, MAX), 'magic');
  const feed = encodeFrame(header({ magic: FEED_MAGIC }), PAYLOAD);
  assert.is(parseHeader(feed, 0, STREAM_MAGIC, MAX), 'magic');
  assert.is(parseHeader(Buffer.alloc(100), 0, STREAM_MAGIC, MAX), 'magic');
});

test("parseHeader reports 'version' for any other format version", () => {
  for (const v of [0, 2, 255]) {
    const frame = encodeFrame(header(), PAYLOAD);
    frame.writeUInt8(v, 4);
    assert.is(parseHeader(frame, 0, STREAM_MAGIC, MAX), 'version', `version ${v}`);
  }
});

test("parseHeader reports 'flags' when an unknown flag bit is set", () => {
  for (const bit of [3, 4, 5, 6, 7]) {
    const frame = encodeFrame(header({ flags: 1 << bit }), PAYLOAD);
    assert.is(parseHeader(frame, 0, STREAM_MAGIC, MAX), 'flags', `bit ${bit}`);
  }
  const known = encodeFrame(header({ flags: FLAG_LZ4 | FLAG_GROUP_END | FLAG_BLANKED }), PAYLOAD);
  assert.type(parseHeader(known, 0, STREAM_MAGIC, MAX), 'object');
});

test("parseHeader reports 'length' when an uncompressed frame's raw and stored lengths differ", () => {
  const frame = encodeFrame(header({ flags: 0, rawLength: 6 }), PAYLOAD);
  assert.is(parseHeader(frame, 0, STREAM_MAGIC, MAX), 'length');
});

test("parseHeader reports 'length' when a declared length exceeds the cap", () => {
  const frame = encodeFrame(header({ rawLength: 100 }), Buffer.alloc(100));
  assert.type(parseHeader(frame, 0, STREAM_MAGIC, 100), 'object');
  assert.is(parseHeader(frame, 0, STREAM_MAGIC, 99), 'length');
  const compressed = encodeFrame(header({ flags: FLAG_LZ4, rawLength: 101 }), Buffer.alloc(10));
  assert.is(parseHeader(compressed, 0, STREAM_MAGIC, 100), 'length', 'raw length over the cap');
});

test('declared lengths above the cap are refused from the header alone, before any payload is read or allocated', () => {
  // Only the 52 header bytes exist: a 4 GiB frame is refused without needing (or allocating) its payload.
  const frame = encodeFrame(header(), PAYLOAD).subarray(0, HEADER_BYTES);
  frame.writeUInt32LE(0xffff_ffff, 12);
  frame.writeUInt32LE(0xffff_ffff, 16);
  assert.is(parseHeader(frame, 0, STREAM_MAGIC, 64 * 1024 * 1024), 'length');
  const storedOnly = Buffer.from(frame);
  storedOnly.writeUInt32LE(5, 12);
  storedOnly.writeUInt8(FLAG_LZ4, 5);
  assert.is(parseHeader(storedOnly, 0, STREAM_MAGIC, 64 * 1024 * 1024), 'length', 'stored length alone over the cap');
});

test("parseHeader reports 'range' for an event count of 0, version 0 or position 0", () => {
  assert.is(parseHeader(encodeFrame(header({ count: 0 }), PAYLOAD), 0, STREAM_MAGIC, MAX), 'range');
  assert.is(parseHeader(encodeFrame(header({ firstVersion: 0 }), PAYLOAD), 0, STREAM_MAGIC, MAX), 'range');
  assert.is(parseHeader(encodeFrame(header({ firstPosition: 0 }), PAYLOAD), 0, STREAM_MAGIC, MAX), 'range');
});

test("u64 fields at or above 2^53 are refused as 'range'; 2^53 - 1 is accepted", () => {
  for (const at of [24, 32, 40]) {
    const ok = encodeFrame(header(), PAYLOAD);
    writeU64(ok, at, 0x1f_ffff, 0xffff_ffff);
    const h = parsed(ok);
    const field = at === 24 ? h.linkSegment : at === 32 ? h.firstVersion : h.firstPosition;
    assert.is(field, Number.MAX_SAFE_INTEGER, `offset ${at} at 2^53-1`);
    for (const [hi, lo] of [
      [0x20_0000, 0],
      [0x20_0000, 1],
      [0xffff_ffff, 0xffff_ffff],
      [0x8000_0000, 0],
    ] as const) {
      const bad = encodeFrame(header(), PAYLOAD);
      writeU64(bad, at, hi, lo);
      assert.is(parseHeader(bad, 0, STREAM_MAGIC, MAX), 'range', `offset ${at} hi=${hi.toString(16)} lo=${lo}`);
    }
  }
});

test('encodeFrame of a value above 2^53 produces a frame that parseHeader refuses', () => {
  const frame = encodeFrame(header({ firstPosition: 2 ** 53 + 2 }), PAYLOAD);
  assert.is(parseHeader(frame, 0, STREAM_MAGIC, MAX), 'range');
});

test('frameIntact accepts an untouched frame and fails when any single payload byte is flipped', () => {
  const payload = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff));
  const frame = encodeFrame(header({ rawLength: payload.length }), payload);
  const h = parsed(frame);
  assert.ok(frameIntact(frame, 0, h));
  for (let i = HEADER_BYTES; i < HEADER_BYTES + payload.length; i++) {
    const bad = Buffer.from(frame);
    bad[i]! ^= 0x01;
    assert.not.ok(frameIntact(bad, 0, h), `payload byte ${i - HEADER_BYTES}`);
  }
});

test('frameIntact fails when a checksummed header byte is changed after parsing', () => {
  const frame = encodeFrame(header(), PAYLOAD);
  for (let i = 0; i < 48; i++) {
    const bad = Buffer.from(frame);
    bad[i]! ^= 0x80;
    // Use the original header (what a reader would have parsed before the bytes changed) so the CRC is what catches it.
    assert.not.ok(frameIntact(bad, 0, parsed(frame)), `header byte ${i}`);
  }
  const badCrc = Buffer.from(frame);
  badCrc[50]! ^= 0xff;
  assert.not.ok(frameIntact(badCrc, 0, parsed(frame)), 'crc field');
});

test('frameIntact fails when the trailer length or trailer magic is wrong', () => {
  const frame = encodeFrame(header(), PAYLOAD);
  const h = parsed(frame);
  const badLen = Buffer.from(frame);
  badLen.writeUInt32LE(frame.length + 1, frame.length - 8);
  assert.not.ok(frameIntact(badLen, 0, h));
  const badMagic = Buffer.from(frame);
  badMagic.writeUInt32LE(FEED_MAGIC, frame.length - 4);
  assert.not.ok(frameIntact(badMagic, 0, h));
});

test('frameIntact is false for every truncation of the frame, without throwing', () => {
  const frame = encodeFrame(header(), PAYLOAD);
  const h = parsed(frame);
  for (let n = HEADER_BYTES; n < frame.length; n++) assert.not.ok(frameIntact(frame.subarray(0, n), 0, h), `length ${n}`);
});

test('setLink patches the link fields and the checksum so the frame stays intact', () => {
  const frame = encodeFrame(header({ linkOffset: 0, linkSegment: 0 }), PAYLOAD);
  const before = Buffer.from(frame);
  setLink(frame, 2 ** 52 + 5, 0xdead_beef);
  const h = parsed(frame);
  assert.is(h.linkSegment, 2 ** 52 + 5);
  assert.is(h.linkOffset, 0xdead_beef);
  assert.ok(frameIntact(frame, 0, h));
  // Nothing but the link fields and the checksum changed.
  for (let i = 0; i < frame.length; i++) {
    if ((i >= 20 && i < 32) || (i >= 48 && i < 52)) continue;
    assert.is(frame[i], before[i], `byte ${i}`);
  }
  assert.is.not(frame.readUInt32LE(48), before.readUInt32LE(48));
  // Patching the link without recomputing the checksum would be caught.
  const stale = Buffer.from(before);
  stale.writeUInt32LE(0xdead_beef, 20);
  assert.not.ok(frameIntact(stale, 0, parsed(stale)));
});

test('setLink gives the same bytes as encoding the frame with the link from the start', () => {
  const late = encodeFrame(header({ linkOffset: 0, linkSegment: 0 }), PAYLOAD);
  setLink(late, 77, 4096);
  const early = encodeFrame(header({ linkOffset: 4096, linkSegment: 77 }), PAYLOAD);
  assert.equal(late, early);
});

test.run();
