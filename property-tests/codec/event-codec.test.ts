import fc from '../support/fc-setup.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type StoredEventBody, decodeEvents, encodeEvents, encodeMsgpack } from '../../src/codec/event-codec.js';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { openStore } from '../../src/engine/open-store.js';
import type { EventStore } from '../../src/engine/event-store.js';
import type { NewEvent } from '../../src/kernel/types.js';
import { jsonDiff, jsonValue, metadata, newEvent, text } from '../support/json.js';
import { withTempDir } from '../support/temp.js';

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
api.run();
