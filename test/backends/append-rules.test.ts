import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { PreparedEvent } from '../../src/backends/backend.js';
import { checkExpectedVersion, findRetry, type StoredRef } from '../../src/backends/append-rules.js';
import { ErrorCode, FfcdbError } from '../../src/kernel/errors.js';
import type { ExpectedVersion } from '../../src/kernel/types.js';

function thrown(fn: () => unknown): FfcdbError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FfcdbError) return err;
    throw err;
  }
  throw new Error('expected an FfcdbError, nothing was thrown');
}

const prepared = (id: string, idSupplied = true): PreparedEvent => ({ id, idSupplied, type: 't', schemaVersion: 1, timestamp: 0, data: null, metadata: {} });

const expected = suite('append rules: expected version');

expected('passes every expectation that matches the actual version', () => {
  const ok: [ExpectedVersion, number][] = [['any', 0], ['any', 7], ['no_stream', 0], ['exists', 1], ['exists', 99], [0, 0], [5, 5]];
  for (const [e, actual] of ok) checkExpectedVersion('s', e, actual);
});

expected('fails every mismatch with CONFLICT carrying streamId, expected and actual', () => {
  const bad: [ExpectedVersion, number][] = [['no_stream', 1], ['exists', 0], [0, 1], [5, 4], [5, 6]];
  for (const [e, actual] of bad) {
    const err = thrown(() => checkExpectedVersion('chat-1', e, actual));
    assert.is(err.code, ErrorCode.CONFLICT);
    assert.equal(err.details, { streamId: 'chat-1', expected: e, actual });
    assert.match(err.message, new RegExp(`chat-1 is at version ${actual}`));
  }
});

const retry = suite('append rules: retries by event id');
const stored = new Map<string, StoredRef>([
  ['a', { version: 3, position: 10 }],
  ['b', { version: 4, position: 12 }],
]);
const lookup = (id: string) => stored.get(id);

retry('an append without caller-supplied ids is never a retry, and the lookup is not consulted', () => {
  let asked = 0;
  assert.is(findRetry('s', [prepared('a', false)], () => {
    asked++;
    return { version: 1, position: 1 };
  }), undefined);
  assert.is(asked, 0);
});

retry('supplied ids the stream does not hold make a new append', () => {
  assert.is(findRetry('s', [prepared('x'), prepared('y')], lookup), undefined);
});

retry('when every id is stored, the original versions and positions come back with duplicate: true', () => {
  assert.equal(findRetry('s', [prepared('a'), prepared('b')], lookup), {
    streamId: 's', firstVersion: 3, lastVersion: 4, firstPosition: 10, lastPosition: 12, duplicate: true,
  });
  assert.equal(findRetry('s', [prepared('b')], lookup), {
    streamId: 's', firstVersion: 4, lastVersion: 4, firstPosition: 12, lastPosition: 12, duplicate: true,
  });
});

retry('a batch of stored and new ids is refused with DUPLICATE_EVENT naming the stored ones', () => {
  const err = thrown(() => findRetry('s', [prepared('a'), prepared('new')], lookup));
  assert.is(err.code, ErrorCode.DUPLICATE_EVENT);
  assert.equal(err.details, { streamId: 's', ids: ['a'] });
});

retry('a stored id next to an event without a supplied id is refused with DUPLICATE_EVENT', () => {
  assert.is(thrown(() => findRetry('s', [prepared('a'), prepared('generated', false)], lookup)).code, ErrorCode.DUPLICATE_EVENT);
});

expected.run();
retry.run();
