import * as assert from 'uvu/assert';
import { stateDifferences } from '../../src/projector/state-diff.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';

const test = flatfileSuite('projections: state-diff');

const diff = (a: unknown, b: unknown, max = 10) => stateDifferences(a, b, 'state', max);

test('equal states, however nested, have no differences', () => {
  const make = () => ({ m: new Map([['a', { list: [1, { x: new Set([1, 2]) }], bytes: new Uint8Array([1, 2]) }]]), n: null, s: 'x' });
  assert.equal(diff(make(), make()), []);
  assert.equal(diff(new Map(), new Map()), []);
  assert.equal(diff(Number.NaN, Number.NaN), []);
});

test('Map entries are compared by key: values that differ, and keys on one side only', () => {
  const live = new Map<string, unknown>([['a', 1], ['b', { t: 'x' }], ['only-live', 0]]);
  const rebuilt = new Map<string, unknown>([['a', 2], ['b', { t: 'y' }], ['only-rebuilt', 0]]);
  assert.equal(diff(live, rebuilt), [
    'state.get("a"): 1 live, 2 rebuilt',
    'state.get("b").t: "x" live, "y" rebuilt',
    'state.get("only-live"): only in the live state',
    'state.get("only-rebuilt"): only in the rebuilt state',
  ]);
});

test('Map entries in another insertion order are no difference', () => {
  assert.equal(diff(new Map([['a', 1], ['b', 2]]), new Map([['b', 2], ['a', 1]])), []);
});

test('arrays of different lengths are one difference; of the same length, item by item', () => {
  assert.equal(diff({ l: [1, 2, 3] }, { l: [1, 2] }), ['state.l: 3 items live, 2 rebuilt']);
  assert.equal(diff({ l: [1, 2, 3] }, { l: [1, 9, 3] }), ['state.l[1]: 2 live, 9 rebuilt']);
  assert.equal(diff([[1], [2]], [[1], [3]]), ['state[1][0]: 2 live, 3 rebuilt']);
});

test('plain objects are compared key by key, and a key on one side only is named even when its value is undefined', () => {
  assert.equal(diff({ a: 1, b: 2 }, { a: 1, b: 3 }), ['state.b: 2 live, 3 rebuilt']);
  assert.equal(diff({ a: 1, gone: 'x' }, { a: 1 }), ['state.gone: only in the live state']);
  assert.equal(diff({ a: 1 }, { a: 1, fresh: 'x' }), ['state.fresh: only in the rebuilt state']);
  assert.equal(diff({ a: 1, u: undefined }, { a: 1 }), ['state.u: only in the live state']);
  assert.equal(diff({ a: 1 }, { a: 1, u: undefined }), ['state.u: only in the rebuilt state']);
});

test('values of different kinds are one difference, shown briefly', () => {
  assert.equal(diff({ v: new Map([[1, 1]]) }, { v: { 1: 1 } }), ['state.v: Map(1) live, {"1":1} rebuilt']);
  assert.equal(diff({ v: new Set([1, 2]) }, { v: new Set([1, 3]) }), ['state.v: Set(2) live, Set(2) rebuilt']);
  assert.equal(diff({ v: [1] }, { v: 'x' }), ['state.v: [1] live, "x" rebuilt']);
  assert.equal(diff({ v: null }, { v: 0 }), ['state.v: null live, 0 rebuilt']);
  const long = 'y'.repeat(200);
  const [line] = diff({ v: long }, { v: 'z' });
  assert.ok(line!.length < 200, line);
  assert.match(line!, /\.\.\. live, "z" rebuilt$/);
});

test('bytes are compared by content', () => {
  assert.equal(diff({ b: new Uint8Array([1, 2]) }, { b: new Uint8Array([1, 2]) }), []);
  assert.is(diff({ b: new Uint8Array([1, 2]) }, { b: new Uint8Array([1, 3]) }).length, 1);
});

test('at most `max` differences are reported, however many there are', () => {
  const live = new Map(Array.from({ length: 50 }, (_, i) => [`k${i}`, { n: i, list: [i] }] as const));
  const rebuilt = new Map(Array.from({ length: 50 }, (_, i) => [`k${i}`, { n: -i - 1, list: [i, i] }] as const));
  assert.is(diff(live, rebuilt, 3).length, 3);
  assert.is(diff(live, rebuilt, 10).length, 10);
  const objects = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, i]));
  assert.is(diff(objects, {}, 4).length, 4);
  assert.is(diff(Array.from({ length: 30 }, (_, i) => i), Array.from({ length: 30 }, (_, i) => -i - 1), 5).length, 5);
});

test.run();
