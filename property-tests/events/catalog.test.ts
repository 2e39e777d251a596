import fc from '../support/fc-setup.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EVENT_TYPES, type EventType, currentVersion, upcast, validateEvent } from '../../src/events/catalog.js';
import { decodeEvents, encodeEvents } from '../../src/codec/event-codec.js';
import type { JsonValue, RecordedEvent } from '../../src/kernel/types.js';
import { messageAddedV1, payloads } from '../support/events.js';
import { jsonDiff } from '../support/json.js';
import { readable } from '../../test/flatfile/unit-helpers.js';

const catalog = suite('property: event catalog');

/** fast-check reports the failing case; an FfcdbError thrown inside must become a plain Error for uvu to print it. */
const checked = (fn: () => void) => {
  try {
    fn();
  } catch (err) {
    throw readable(err);
  }
};

const anyEvent = fc.constantFrom(...EVENT_TYPES).chain((type) => payloads[type].map((data) => ({ type, data })));

const recorded = (type: string, schemaVersion: number, data: JsonValue): RecordedEvent => ({
  id: 'e1', streamId: 's1', version: 1, position: 1, type, schemaVersion, timestamp: 1, data, metadata: {},
});

catalog('every valid generated payload passes validation and survives a msgpack round trip unchanged', () => {
  fc.assert(
    fc.property(fc.array(anyEvent, { minLength: 1, maxLength: 5 }), (events) =>
      checked(() => {
        const bodies = events.map(({ type, data }, i) => ({ id: `e${i}`, type, schemaVersion: currentVersion(type), timestamp: i, data, metadata: {} }));
        for (const b of bodies) validateEvent(b.type, b.schemaVersion, b.data);
        const p = encodeEvents(bodies);
        const back = decodeEvents(p.stored, p.compressed, p.rawLength, bodies.length);
        assert.ok(back);
        back.forEach((b, i) => {
          const d = jsonDiff(b.data, bodies[i]!.data);
          assert.not.ok(d, d);
          validateEvent(b.type, b.schemaVersion, b.data);
        });
      }),
    ),
    { numRuns: 500 },
  );
});

catalog('every type is generated (the property above covers the whole catalog)', () => {
  const seen = new Set<EventType>();
  fc.assert(fc.property(anyEvent, ({ type }) => void seen.add(type)), { numRuns: 500 });
  assert.equal([...seen].sort(), [...EVENT_TYPES].sort());
});

catalog('upcasting a v1 message.added gives a valid current-version event, losing nothing', () => {
  fc.assert(
    fc.property(messageAddedV1, (v1) =>
      checked(() => {
        validateEvent('message.added', 1, v1);
        const now = upcast(recorded('message.added', 1, v1 as unknown as JsonValue));
        assert.is(now.schemaVersion, currentVersion('message.added'));
        validateEvent(now.type, now.schemaVersion, now.data);
        if (now.type !== 'message.added') throw new Error(`type changed to ${now.type}`);
        const { model, ...rest } = v1;
        assert.equal(now.data, model === undefined ? rest : { ...rest, metadata: { model } });
      }),
    ),
    { numRuns: 300 },
  );
});

catalog('upcasting an event already at its current version returns it unchanged', () => {
  fc.assert(
    fc.property(anyEvent, ({ type, data }) => {
      const e = recorded(type, currentVersion(type), data);
      assert.is(upcast(e), e);
    }),
    { numRuns: 200 },
  );
});

catalog.run();
