import fs from 'node:fs';
import path from 'node:path';
import fc from '../support/fc-setup.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type StoredEventBody, decodeEvents, encodeEvents, encodeMsgpack } from '../../src/codec/event-codec.js';
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
import { backwardFrames, forwardFrames } from '../../src/backends/flatfile/frame-reader.js';
import { FileHandles } from '../../src/backends/flatfile/file-handles.js';
import { scanSegment } from '../../src/backends/flatfile/segment-scan.js';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { openStore } from '../../src/engine/open-store.js';
import type { EventStore } from '../../src/engine/event-store.js';
import type { NewEvent } from '../../src/kernel/types.js';
import { jsonDiff, jsonValue, metadata, newEvent, text } from '../support/json.js';
import { withTempDir } from '../support/temp.js';

const MAX_PAYLOAD = 64 * 1024 * 1024;

const body: fc.Arbitrary<StoredEventBody> = fc.record({
  id: text(30),
  type: text(20),
  schemaVersion: fc.integer({ min: 1, max: 65_535 }),
  timestamp: fc.maxSafeNat(),
  data: jsonValue(),
  metadata,
});

/**
 * A body whose data carries a long repetitive string (2 KiB or more): large
 * enough, and shrinking by far enough, that any sensible policy compresses it.
 */
const compressibleBody: fc.Arbitrary<StoredEventBody> = fc
  .tuple(body, fc.constantFrom('hello ', 'the quick brown fox ', 'ab', '\u{1F600}x'), fc.integer({ min: 1024, max: 4096 }))
  .map(([b, unit, n]) => ({ ...b, data: { text: unit.repeat(n), original: b.data } }));

function assertBodiesEqual(actual: StoredEventBody[] | undefined, expected: readonly StoredEventBody[]): void {
  assert.ok(actual, 'decodeEvents returned undefined for bytes that encodeEvents produced');
  const d = jsonDiff(actual, expected);
  assert.not.ok(d, d);
}

// ---- event payloads ----------------------------------------------------------

const codec = suite('property: event codec');

codec('decode(encode(events)) returns every event exactly: unicode, nested data, bytes, safe integers, floats', () => {
  fc.assert(
    fc.property(fc.array(body, { minLength: 1, maxLength: 6 }), (events) => {
      const p = encodeEvents(events);
      if (!p.compressed) assert.is(p.stored.length, p.rawLength, 'an uncompressed payload is stored as is');
      assertBodiesEqual(decodeEvents(p.stored, p.compressed, p.rawLength, events.length), events);
    }),
    { numRuns: 400 },
  );
});

codec('large repetitive batches (2 KiB and more) are stored lz4-compressed, much smaller than msgpack, and decode exactly', () => {
  fc.assert(
    fc.property(fc.array(compressibleBody, { minLength: 1, maxLength: 4 }), (events) => {
      const p = encodeEvents(events);
      assert.ok(p.compressed, 'a payload that lz4 shrinks is stored compressed');
      assert.ok(p.stored.length * 2 < p.rawLength, 'compressed payload is less than half the raw msgpack');
      assertBodiesEqual(decodeEvents(p.stored, true, p.rawLength, events.length), events);
    }),
    { numRuns: 150 },
  );
});

codec('the uncompressed form (plain msgpack rows) decodes exactly, whatever its size', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(body, compressibleBody), { minLength: 1, maxLength: 4 }), (events) => {
      const raw = encodeMsgpack(events.map((e) => [e.id, e.type, e.schemaVersion, e.timestamp, e.data, e.metadata]));
      assertBodiesEqual(decodeEvents(raw, false, raw.length, events.length), events);
      // And it is what encodeEvents compressed, byte for byte, when it compressed.
      const p = encodeEvents(events);
      assert.is(p.rawLength, raw.length);
      if (!p.compressed) assert.ok(Buffer.from(p.stored).equals(raw));
    }),
    { numRuns: 200 },
  );
});

codec('payloads under 128 bytes are never compressed', () => {
  fc.assert(
    fc.property(
      fc.record({ id: fc.string({ maxLength: 8 }), type: fc.string({ maxLength: 8 }), schemaVersion: fc.integer({ min: 1, max: 9 }), timestamp: fc.nat(), data: fc.oneof(fc.constant(null), fc.integer(), fc.string({ maxLength: 20 })), metadata: fc.constant({}) }),
      (e) => {
        const p = encodeEvents([e]);
        fc.pre(p.rawLength < 128);
        assert.not.ok(p.compressed);
        assertBodiesEqual(decodeEvents(p.stored, false, p.rawLength, 1), [e]);
      },
    ),
    { numRuns: 200 },
  );
});

codec('decoding with a wrong event count or raw length yields undefined, never other events', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(body, compressibleBody), { minLength: 1, maxLength: 4 }), fc.integer({ min: -3, max: 3 }).filter((d) => d !== 0), (events, delta) => {
      const p = encodeEvents(events);
      if (events.length + delta >= 0) assert.is(decodeEvents(p.stored, p.compressed, p.rawLength, events.length + delta), undefined);
      assert.is(decodeEvents(p.stored, p.compressed, p.rawLength + Math.abs(delta), events.length), undefined);
    }),
    { numRuns: 200 },
  );
});

// ---- frames -----------------------------------------------------------------

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

const frames = suite('property: frames');

frames('parseHeader(encodeFrame(h, p)) gives back h, the frame checks out, and its payload is p', () => {
  fc.assert(
    fc.property(frameInput, fc.nat(64), ({ header, payload }, lead) => {
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
    }),
    { numRuns: 500 },
  );
});

frames('setLink patches the link fields and the checksum: the frame still checks out and carries the new link', () => {
  fc.assert(
    fc.property(frameInput, fc.oneof(fc.constant(0), safe), u32, ({ header, payload }, linkSegment, linkOffset) => {
      const frame = encodeFrame({ ...header, linkSegment: 0, linkOffset: 0 }, payload);
      setLink(frame, linkSegment, linkOffset);
      const parsed = parseHeader(frame, 0, header.magic, MAX_PAYLOAD) as FrameHeader;
      assert.type(parsed, 'object');
      assert.equal(parsed, { ...header, linkSegment, linkOffset, storedLength: payload.length });
      assert.ok(frameIntact(frame, 0, parsed));
      assert.ok(frame.equals(encodeFrame({ ...header, linkSegment, linkOffset }, payload)), 'patched frame is byte-equal to one written with the link');
    }),
    { numRuns: 300 },
  );
});

frames('changing any one byte of a frame is detected: its header is refused or it fails its check', () => {
  fc.assert(
    fc.property(frameInput, fc.nat(), fc.integer({ min: 1, max: 255 }), ({ header, payload }, where, xor) => {
      const frame = encodeFrame(header, payload);
      const at = where % frame.length;
      frame[at] = frame[at]! ^ xor;
      const parsed = parseHeader(frame, 0, header.magic, MAX_PAYLOAD);
      if (typeof parsed === 'string') return;
      assert.not.ok(frameIntact(frame, 0, parsed), `a change at byte ${at} of ${frame.length} went unnoticed`);
    }),
    { numRuns: 1000 },
  );
});

frames('a cut frame is never whole: every proper prefix is short or fails its check', () => {
  fc.assert(
    fc.property(frameInput, fc.nat(), ({ header, payload }, where) => {
      const frame = encodeFrame(header, payload);
      const cut = frame.subarray(0, where % frame.length);
      const parsed = parseHeader(cut, 0, header.magic, MAX_PAYLOAD);
      if (typeof parsed === 'string') {
        assert.is(parsed, 'short');
        return;
      }
      assert.not.ok(frameIntact(cut, 0, parsed));
    }),
    { numRuns: 500 },
  );
});

frames('a run of frames scans, reads forward and reads backward to exactly the frames written', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(STREAM_MAGIC, FEED_MAGIC),
      fc.array(frameInput, { minLength: 1, maxLength: 8 }),
      async (magic, inputs) =>
        withTempDir('frames', (dir) => {
          const written = inputs.map(({ header, payload }) => ({ header: { ...header, magic, storedLength: payload.length }, payload }));
          const bufs = written.map(({ header, payload }) => encodeFrame(header, payload));
          const all = Buffer.concat(bufs);
          const offsets = bufs.map((_, i) => bufs.slice(0, i).reduce((n, b) => n + b.length, 0));

          const scan = scanSegment(all, 'mem', magic, MAX_PAYLOAD);
          assert.is(scan.validEnd, all.length);
          assert.is(scan.tornTail, undefined);
          assert.equal(scan.frames, written.map((w, i) => ({ offset: offsets[i], header: w.header })));

          const file = path.join(dir, 'frames.seg');
          fs.writeFileSync(file, all);
          const files = new FileHandles(4);
          try {
            const fwd = [...forwardFrames(files, file, 0, all.length, magic, MAX_PAYLOAD)].map((f) => ({
              offset: f.offset,
              header: f.header,
              payload: Buffer.from(framePayload(f.buf, f.at, f.header)),
            }));
            assert.equal(fwd, written.map((w, i) => ({ offset: offsets[i], header: w.header, payload: Buffer.from(w.payload) })));
            const back = [...backwardFrames(files, file, all.length, magic, MAX_PAYLOAD)].map((f) => ({
              offset: f.offset,
              header: f.header,
              payload: Buffer.from(framePayload(f.buf, f.at, f.header)),
            }));
            assert.equal(back, [...fwd].reverse());
          } finally {
            files.closeAll();
          }
        }),
    ),
    { numRuns: 100 },
  );
});

// ---- through the public API ---------------------------------------------------

/** What the engine stores of an appended event: its metadata without undefined fields, schema version 1 by default. */
function assertStored(store: string, got: Awaited<ReturnType<EventStore['readStream']>>, sent: readonly NewEvent[]): void {
  assert.is(got.length, sent.length, `${store}: event count`);
  got.forEach((e, i) => {
    const s = sent[i]!;
    assert.is(e.version, i + 1);
    assert.is(e.type, s.type);
    assert.is(e.schemaVersion, s.schemaVersion ?? 1);
    const d = jsonDiff(e.data, s.data, `${store}: events[${i}].data`) ?? jsonDiff(e.metadata, s.metadata ?? {}, `${store}: events[${i}].metadata`);
    assert.not.ok(d, d);
  });
}

const api = suite('property: events through the EventStore');

api('an appended batch reads back exactly, from the flatfile store (also after reopening) and the memory store', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(newEvent(), { minLength: 1, maxLength: 5 }), fc.boolean(), async (events, big) => {
      const sent = big ? events.map((e) => ({ ...e, data: { pad: 'lorem ipsum '.repeat(30), inner: e.data } })) : events;
      await withTempDir('codec-api', async (dir) => {
        let store = await openStore({ dir, durability: 'none' });
        try {
          await store.append('s-1', sent);
          assertStored('flatfile', await store.readStream('s-1'), sent);
          await store.close();
          store = await openStore({ dir, durability: 'none' });
          assertStored('flatfile reopened', await store.readStream('s-1'), sent);
          const feed: Awaited<ReturnType<EventStore['readStream']>> = [];
          for await (const e of store.streamAll()) feed.push(e);
          assertStored('flatfile feed', feed, sent);
        } finally {
          await store.close();
        }
      });
      const mem = await openStore({ backend: new MemoryBackend() });
      try {
        await mem.append('s-1', sent);
        assertStored('memory', await mem.readStream('s-1'), sent);
      } finally {
        await mem.close();
      }
    }),
    { numRuns: 100 },
  );
});

codec.run();
frames.run();
api.run();
