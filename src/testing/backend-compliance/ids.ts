/** The one id rule, end to end: every id the rule takes is stored, listed and read back exactly as given. */
import assert from 'node:assert/strict';
import type { Kit } from './harness.js';
import { ev } from './helpers.js';

/**
 * Ids that break naive paths, compare loosely or pass a file name's limits:
 * each must come back byte for byte, as its own stream, on every backend.
 */
const TRICKY_IDS: readonly string[] = [
  '..',
  '.',
  '../x',
  'a/b',
  'a\\b',
  '/etc/passwd',
  '%2e%2e',
  '%2E',
  'CON',
  'nul.txt',
  'trailing. ',
  'user:42',
  'chat/1/msg/2',
  'call abc/1',
  'parent:uuid|child:uuid',
  'ann@example.org',
  'a\u202Eb\u200F',
  '\u{1F600}\u{1F469}\u200D\u{1F4BB}',
  'Chat',
  'chat',
  'CHAT',
  'e\u0301',
  '\u00E9',
  "x'; DROP TABLE events; --",
  '~',
  '~abc',
  'x'.repeat(512),
  `${'é'.repeat(255)}x`,
  '\u{1F600}'.repeat(128),
];

export function idTests(kit: Kit): void {
  const { open } = kit;
  const test = kit.section('ids');

  test('any id the rule takes is its own stream and comes back exactly: paths, dots, device names, RTL marks, emoji, case, 512 bytes', async (ctx) => {
    let store = await open(ctx);
    for (const [i, id] of TRICKY_IDS.entries()) await store.append(id, { ...ev(i), id });
    const check = async () => {
      const streams = new Map<string, number>();
      for (const e of (await store.readAll({ limit: 10_000 })).events) streams.set(e.streamId, (streams.get(e.streamId) ?? 0) + 1);
      assert.deepEqual([...streams.keys()], TRICKY_IDS, 'readAll names each stream exactly');
      for (const [i, id] of TRICKY_IDS.entries()) {
        const events = await store.readStream(id);
        assert.equal(events.length, 1, JSON.stringify(id));
        assert.equal(events[0]!.streamId, id);
        assert.equal(events[0]!.id, id);
        assert.deepEqual(events[0]!.data, ev(i).data);
      }
    };
    await check();
    if (kit.supports.persistent) {
      await store.close();
      store = await open(ctx);
      await check();
    }
  });
}
