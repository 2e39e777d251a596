import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../src/index.js';

test('the package entry exports the store, both backends and the error class', async () => {
  for (const name of ['openStore', 'EventStore', 'FlatfileBackend', 'MemoryBackend', 'FfcdbError', 'isFfcdbError', 'ErrorCode']) {
    assert.ok(name in api, `${name} is exported`);
  }
  const store = await api.openStore({ backend: new api.MemoryBackend() });
  const r = await store.append('s', { type: 't', data: 1 });
  assert.is(r.lastPosition, 1);
  await store.close();
  try {
    await store.append('s', { type: 't', data: 1 });
    assert.unreachable('an append after close must fail');
  } catch (err) {
    assert.ok(api.isFfcdbError(err, api.ErrorCode.CLOSED), `expected CLOSED, got ${String(err)}`);
  }
});

test.run();
