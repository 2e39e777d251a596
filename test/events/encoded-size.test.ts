import * as assert from 'uvu/assert';
import { msgpackSize } from '../../src/events/encoded-size.js';
import { json } from '../../src/events/fields.js';
import { encodeMsgpack } from '../../src/codec/event-codec.js';
import type { JsonValue } from '../../src/kernel/types.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { fails } from './fails.js';

const test = flatfileSuite('events: encoded size');

const same = (value: JsonValue, what: string) => assert.is(msgpackSize(value), encodeMsgpack(value).length, what);
const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

test('numbers take the bytes the codec gives them, at every header boundary', () => {
  const numbers = [
    0, 1, 31, 32, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER,
    -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, Number.MIN_SAFE_INTEGER,
    0.5, -0.5, 1e-310, Number.MAX_VALUE, Number.MIN_VALUE, -0,
  ];
  for (const n of numbers) same(n, `number ${n}`);
});

test('strings count their UTF-8 bytes and the smallest header, multi-byte and astral characters included', () => {
  for (const n of [0, 31, 32, 63, 64, 255, 256, 65535, 65536]) {
    same('x'.repeat(n), `${n} ASCII characters`);
    same('é'.repeat(Math.ceil(n / 2)), `${n} bytes of 2-byte characters`);
    same('€'.repeat(Math.ceil(n / 3)), `${n} bytes of 3-byte characters`);
    same('😀'.repeat(Math.ceil(n / 4)), `${n} bytes of surrogate pairs`);
  }
  same('a😀b€cé', 'mixed');
});

test('byte strings, arrays and objects: headers at their boundaries, contents summed', () => {
  for (const n of [0, 15, 16, 255, 256, 65535, 65536]) {
    same(new Uint8Array(n), `${n} bytes`);
    same(Buffer.alloc(n), `a Buffer of ${n} bytes`);
    same(Array.from({ length: n }, () => null), `${n} items`);
  }
  for (const n of [0, 1, 15, 16, 300, 65535]) same(keys(n), `${n} keys`);
  same(Object.assign(Object.create(null), { a: 1, b: 'x' }), 'an object without a prototype');
  same({ a: [1, { b: 'c', d: [true, false, null] }], e: { f: new Uint8Array(3), g: -1.25 } }, 'nested');
});

test('json() refuses an object of more keys than the codec stores, naming the object', () => {
  json({ nested: keys(65535) }, 'data.arguments', 2 ** 30);
  fails(() => json({ nested: keys(65536) }, 'data.arguments', 2 ** 30), 'data.arguments.nested');
});

test('json() refuses one byte over its limit, as it did when it encoded the value', () => {
  const value = { text: 'x'.repeat(100) };
  const bytes = encodeMsgpack(value).length;
  json(value, 'data', bytes);
  fails(() => json(value, 'data', bytes - 1), 'data');
});

test.run();
