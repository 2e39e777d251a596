import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CommitListener } from '../../src/backends/backend.js';
import { CommitListeners } from '../../src/backends/commit-listeners.js';

const test = suite('commit listeners');

function recorder() {
  const log: string[] = [];
  const listener: CommitListener = { commit: (head) => log.push(`commit ${head}`), end: (error) => log.push(error === undefined ? 'end' : `fail ${String(error)}`) };
  return { log, listener };
}

test('every listener gets each head until it removes itself', () => {
  const set = new CommitListeners();
  const a = recorder();
  const b = recorder();
  const removeA = set.add(a.listener);
  set.add(b.listener);
  set.commit(1);
  removeA();
  set.commit(2);
  assert.equal(a.log, ['commit 1']);
  assert.equal(b.log, ['commit 1', 'commit 2']);
});

test('first runs when the set gains its first listener and last when it loses its last one', () => {
  const hooks: string[] = [];
  const set = new CommitListeners({ first: () => hooks.push('first'), last: () => hooks.push('last') });
  const removeA = set.add(recorder().listener);
  const removeB = set.add(recorder().listener);
  removeA();
  removeA();
  removeB();
  set.add(recorder().listener);
  assert.equal(hooks, ['first', 'last', 'first']);
});

test('close ends every listener once, and a listener added after close ends at once', () => {
  const set = new CommitListeners();
  const a = recorder();
  set.add(a.listener);
  set.close();
  set.commit(3);
  const late = recorder();
  set.add(late.listener);
  assert.equal(a.log, ['end']);
  assert.equal(late.log, ['end']);
});

test('fail ends the current listeners with the error, and later listeners are served as usual', () => {
  const hooks: string[] = [];
  const set = new CommitListeners({ first: () => hooks.push('first'), last: () => hooks.push('last') });
  const a = recorder();
  set.add(a.listener);
  set.fail('disk gone');
  const b = recorder();
  set.add(b.listener);
  set.commit(4);
  assert.equal(a.log, ['fail disk gone']);
  assert.equal(b.log, ['commit 4']);
  assert.equal(hooks, ['first', 'last', 'first']);
});

test('a listener removed by another listener during a commit is not called for it', () => {
  const set = new CommitListeners();
  const b = recorder();
  let removeB = () => {};
  set.add({ commit: () => removeB(), end: () => {} });
  removeB = set.add(b.listener);
  set.commit(5);
  assert.equal(b.log, []);
});

test.run();
