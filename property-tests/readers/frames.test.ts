import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import {
  FEED_MAGIC,
  FLAG_GROUP_END,
  FLAG_LZ4,
  FORMAT_VERSION,
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
import { type ReadFrame, backwardFrames, forwardFrames } from '../../src/backends/flatfile/frame-reader.js';
import { FileHandles } from '../../src/backends/flatfile/file-handles.js';
import { type ScanResult, scanSegment } from '../../src/backends/flatfile/segment-scan.js';
import fc from '../support/fc-setup.js';
import { firstDifference, mutate, mutations } from '../support/mutate.js';
import { assertReaderError, readerProperties } from '../support/reader-property.js';

/**
 * Frames (frame.ts), the scan of a segment (segment-scan.ts) and the frame
 * readers (frame-reader.ts): frames round-trip; damage is detected; and a
 * segment damaged in any way (flips, cuts, splices, random bytes, huge length
 * fields) scans and reads to frames that check out, an exact prefix of those
 * written up to the first damaged byte, or fails with CORRUPT.
 */

const MAX_PAYLOAD = 64 * 1024 * 1024;
const safe = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

/** A frame header and a payload consistent with it (an uncompressed frame stores rawLength bytes). */
const frameInput = fc
  .record({
    magic: fc.constantFrom(STREAM_MAGIC, FEED_MAGIC),
    lz4: fc.boolean(),
    groupEnd: fc.boolean(),
    count: fc.integer({ min: 1, max: 0xffff }),
    epoch: u32,
    linkOffset: u32,
    linkSegment: fc.oneof(fc.constant(0), safe),
    firstVersion: safe,
    firstPosition: safe,
    payload: fc.uint8Array({ maxLength: 300 }),
    declaredRaw: fc.integer({ min: 0, max: 1 << 20 }),
  })
  .map(({ lz4, groupEnd, payload, declaredRaw, ...h }) => ({
    header: { ...h, flags: (lz4 ? FLAG_LZ4 : 0) | (groupEnd ? FLAG_GROUP_END : 0), rawLength: lz4 ? declaredRaw : payload.length } satisfies Omit<FrameHeader, 'storedLength'>,
    payload,
  }));

type FrameInput = typeof frameInput extends fc.Arbitrary<infer T> ? T : never;

/** Frames of one kind, in order, with positions rising (as a real segment holds them). */
function segmentOf(magic: number, inputs: readonly FrameInput[]) {
  let position = 1;
  const written = inputs.map(({ header, payload }) => {
    const h = { ...header, magic, firstPosition: position, storedLength: payload.length };
    position += header.count;
    return { header: h, payload };
  });
  const bufs = written.map(({ header, payload }) => encodeFrame(header, payload));
  const offsets = bufs.map((_, i) => bufs.slice(0, i).reduce((n, b) => n + b.length, 0));
  return { written, bytes: Buffer.concat(bufs), offsets };
}

let scratch = '';

function readAll(frames: Generator<ReadFrame>) {
  return [...frames].map((f) => ({ offset: f.offset, header: f.header, payload: Buffer.from(framePayload(f.buf, f.at, f.header)) }));
}

/** Each frame a reader returned checks out in `bytes` at its offset. */
function assertIntact(bytes: Buffer, frames: readonly { offset: number; header: FrameHeader }[], magic: number, what: string): void {
  for (const f of frames) {
    const h = parseHeader(bytes, f.offset, magic, MAX_PAYLOAD);
    assert.equal(h, f.header, `${what}: the frame at ${f.offset} is not what its bytes say`);
    assert.ok(frameIntact(bytes, f.offset, f.header), `${what}: the frame at ${f.offset} fails its check`);
  }
}

/** Scans, then reads forward and backward through a file: every frame returned checks out, or CORRUPT. */
function checkDamaged(bytes: Buffer, magic: number, original?: { bytes: Buffer; offsets: number[]; headers: FrameHeader[] }): void {
  let scan: ScanResult | undefined;
  try {
    scan = scanSegment(bytes, 'mem', magic, MAX_PAYLOAD);
  } catch (err) {
    assertReaderError(err, 'scanSegment');
  }
  if (scan) {
    let end = 0;
    for (const f of scan.frames) {
      assert.is(f.offset, end, 'scanned frames follow each other');
      end += frameLength(f.header.storedLength);
    }
    assert.is(scan.validEnd, end, 'validEnd is the end of the last frame');
    assert.is(scan.tornTail !== undefined, end < bytes.length, 'a torn tail is reported exactly when bytes follow the last frame');
    assertIntact(bytes, scan.frames, magic, 'scanSegment');
    if (original) {
      // Every frame that ends before the first damaged byte is read back as written.
      const intact = original.offsets.filter((o, i) => o + frameLength(original.headers[i]!.storedLength) <= firstDifference(original.bytes, bytes));
      assert.ok(scan.frames.length >= intact.length, `scanSegment lost undamaged frames: ${scan.frames.length} of ${intact.length}`);
      intact.forEach((o, i) => {
        assert.equal(scan.frames[i], { offset: o, header: original.headers[i] }, 'an undamaged frame reads as written');
      });
    }
  }
  const file = path.join(scratch, 'damaged.seg');
  fs.writeFileSync(file, bytes);
  const files = new FileHandles(2);
  try {
    for (const direction of ['forward', 'backward'] as const) {
      let frames: ReturnType<typeof readAll> | undefined;
      try {
        frames = readAll(direction === 'forward' ? forwardFrames(files, file, 0, bytes.length, magic, MAX_PAYLOAD) : backwardFrames(files, file, bytes.length, magic, MAX_PAYLOAD));
      } catch (err) {
        assertReaderError(err, `${direction}Frames`);
      }
      if (!frames) {
        // The range given is the committed one: a scan that found every byte whole reads without error.
        assert.ok(!scan || scan.tornTail !== undefined, `${direction}Frames failed on a segment that scans whole`);
        continue;
      }
      assertIntact(bytes, frames, magic, `${direction}Frames`);
      if (scan && !scan.tornTail) {
        const expected = direction === 'forward' ? scan.frames : [...scan.frames].reverse();
        assert.equal(frames.map((f) => ({ offset: f.offset, header: f.header })), expected, `${direction}Frames and the scan disagree`);
      }
    }
  } finally {
    files.closeAll();
  }
}

readerProperties(
  import.meta.url,
  'property: frames',
  {
    'parseHeader(encodeFrame(h, p)) gives back h, the frame checks out, and its payload is p': {
      arbitrary: fc.tuple(frameInput, fc.nat(64)),
      check: ([{ header, payload }, lead]) => {
        const frame = encodeFrame(header, payload);
        assert.is(frame.length, frameLength(payload.length));
        assert.is(frame.length, HEADER_BYTES + payload.length + TRAILER_BYTES);
        assert.is(frame.readUInt8(4), FORMAT_VERSION);
        assert.is(frame.readUInt32LE(frame.length - 8), frame.length, 'trailer holds the frame length');
        assert.is(frame.readUInt32LE(frame.length - 4), header.magic, 'trailer holds the magic');
        // At an arbitrary offset inside a larger buffer too.
        const buf = Buffer.concat([Buffer.alloc(lead, 0xaa), frame, Buffer.alloc(3, 0x55)]);
        const parsed = parseHeader(buf, lead, header.magic, MAX_PAYLOAD);
        assert.type(parsed, 'object', `parseHeader refused a frame it wrote: ${String(parsed)}`);
        assert.equal(parsed, { ...header, storedLength: payload.length });
        assert.ok(frameIntact(buf, lead, parsed as FrameHeader));
        assert.ok(framePayload(buf, lead, parsed as FrameHeader).equals(Buffer.from(payload)));
        // The other kind of frame is not mistaken for this one.
        assert.is(parseHeader(buf, lead, header.magic === STREAM_MAGIC ? FEED_MAGIC : STREAM_MAGIC, MAX_PAYLOAD), 'magic');
      },
    },

    'setLink patches the link fields and the checksum: the frame still checks out and carries the new link': {
      arbitrary: fc.tuple(frameInput, fc.oneof(fc.constant(0), safe), u32),
      check: ([{ header, payload }, linkSegment, linkOffset]) => {
        const frame = encodeFrame({ ...header, linkSegment: 0, linkOffset: 0 }, payload);
        setLink(frame, linkSegment, linkOffset);
        const parsed = parseHeader(frame, 0, header.magic, MAX_PAYLOAD) as FrameHeader;
        assert.type(parsed, 'object');
        assert.equal(parsed, { ...header, linkSegment, linkOffset, storedLength: payload.length });
        assert.ok(frameIntact(frame, 0, parsed));
        assert.ok(frame.equals(encodeFrame({ ...header, linkSegment, linkOffset }, payload)), 'patched frame is byte-equal to one written with the link');
      },
    },

    'changing any one byte of a frame is detected: its header is refused or it fails its check': {
      arbitrary: fc.tuple(frameInput, fc.nat(), fc.integer({ min: 1, max: 255 })),
      check: ([{ header, payload }, where, xor]) => {
        const frame = encodeFrame(header, payload);
        const at = where % frame.length;
        frame[at] = frame[at]! ^ xor;
        const parsed = parseHeader(frame, 0, header.magic, MAX_PAYLOAD);
        if (typeof parsed === 'string') return;
        assert.not.ok(frameIntact(frame, 0, parsed), `a change at byte ${at} of ${frame.length} went unnoticed`);
      },
    },

    'a cut frame is never whole: every proper prefix is short or fails its check': {
      arbitrary: fc.tuple(frameInput, fc.nat()),
      check: ([{ header, payload }, where]) => {
        const frame = encodeFrame(header, payload);
        const cut = frame.subarray(0, where % frame.length);
        const parsed = parseHeader(cut, 0, header.magic, MAX_PAYLOAD);
        if (typeof parsed === 'string') {
          assert.is(parsed, 'short');
          return;
        }
        assert.not.ok(frameIntact(cut, 0, parsed));
      },
    },

    'a run of frames scans, reads forward and reads backward to exactly the frames written': {
      arbitrary: fc.tuple(fc.constantFrom(STREAM_MAGIC, FEED_MAGIC), fc.array(frameInput, { minLength: 1, maxLength: 8 })),
      check: ([magic, inputs]) => {
        const written = inputs.map(({ header, payload }) => ({ header: { ...header, magic, storedLength: payload.length }, payload }));
        const bufs = written.map(({ header, payload }) => encodeFrame(header, payload));
        const all = Buffer.concat(bufs);
        const offsets = bufs.map((_, i) => bufs.slice(0, i).reduce((n, b) => n + b.length, 0));

        const scan = scanSegment(all, 'mem', magic, MAX_PAYLOAD);
        assert.is(scan.validEnd, all.length);
        assert.is(scan.tornTail, undefined);
        assert.equal(scan.frames, written.map((w, i) => ({ offset: offsets[i], header: w.header })));

        const file = path.join(scratch, 'frames.seg');
        fs.writeFileSync(file, all);
        const files = new FileHandles(4);
        try {
          const fwd = readAll(forwardFrames(files, file, 0, all.length, magic, MAX_PAYLOAD));
          assert.equal(fwd, written.map((w, i) => ({ offset: offsets[i], header: w.header, payload: Buffer.from(w.payload) })));
          const back = readAll(backwardFrames(files, file, all.length, magic, MAX_PAYLOAD));
          assert.equal(back, [...fwd].reverse());
        } finally {
          files.closeAll();
        }
      },
    },

    'a damaged segment (flips, cuts, splices, random bytes, huge length fields) scans and reads to whole frames, as written up to the damage, or fails with CORRUPT': {
      arbitrary: fc.tuple(fc.constantFrom(STREAM_MAGIC, FEED_MAGIC), fc.array(frameInput, { minLength: 1, maxLength: 6 }), mutations()),
      check: ([magic, inputs, damage]) => {
        const { written, bytes, offsets } = segmentOf(magic, inputs);
        // The length and offset fields of each frame: raw and stored length, link offset and segment, versions, the trailer's length.
        const fields = offsets.flatMap((o, i) => [12, 16, 20, 24, 32, 40, frameLength(written[i]!.header.storedLength) - 8].map((f) => o + f));
        checkDamaged(mutate(bytes, damage, fields), magic, { bytes, offsets, headers: written.map((w) => w.header) });
      },
    },

    'random bytes, with the magic scattered through them, scan and read to whole frames or fail with CORRUPT': {
      arbitrary: fc.tuple(
        fc.constantFrom(STREAM_MAGIC, FEED_MAGIC),
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constant(Uint8Array.of(0x46, 0x46, 0x43, 0x53)), fc.constant(Uint8Array.of(0x46, 0x46, 0x43, 0x46))), { maxLength: 40 }),
      ),
      check: ([magic, pieces]) => checkDamaged(Buffer.concat(pieces), magic),
    },
  },
  {
    setup: (dir) => {
      scratch = dir;
    },
  },
);
