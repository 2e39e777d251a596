import { isDeepStrictEqual } from 'node:util';
import * as assert from 'uvu/assert';
import { mergePatch } from '../../src/projections/merge-patch.js';
import type { JsonValue } from '../../src/kernel/types.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';

const test = flatfileSuite('projections: merge patch (RFC 7386)');

/** Every test case of RFC 7386, Appendix A: original, patch, result. */
const APPENDIX_A: Array<[string, string, string]> = [
  ['{"a":"b"}', '{"a":"c"}', '{"a":"c"}'],
  ['{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'],
  ['{"a":"b"}', '{"a":null}', '{}'],
  ['{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'],
  ['{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'],
  ['{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'],
  ['{"a":{"b":"c"}}', '{"a":{"b":"d","c":null}}', '{"a":{"b":"d"}}'],
  ['{"a":[{"b":"c"}]}', '{"a":[1]}', '{"a":[1]}'],
  ['["a","b"]', '["c","d"]', '["c","d"]'],
  ['{"a":"b"}', '["c"]', '["c"]'],
  ['{"a":"foo"}', 'null', 'null'],
  ['{"a":"foo"}', '"bar"', '"bar"'],
  ['{"e":null}', '{"a":1}', '{"e":null,"a":1}'],
  ['[1,2]', '{"a":"b","c":null}', '{"a":"b"}'],
  ['{}', '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}'],
];

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

test('every example of RFC 7386 Appendix A gives the RFC result', () => {
  for (const [original, patch, result] of APPENDIX_A) {
    const got = mergePatch(JSON.parse(original) as JsonValue, JSON.parse(patch) as JsonValue);
    assert.equal(got, JSON.parse(result), `${original} + ${patch}`);
  }
});

test('the example of RFC 7386 section 3 gives the RFC result', () => {
  const target = JSON.parse(`{
    "title": "Goodbye!",
    "author" : { "givenName" : "John", "familyName" : "Doe" },
    "tags":[ "example", "sample" ],
    "content": "This will be unchanged"
  }`) as JsonValue;
  const patch = JSON.parse(`{
    "title": "Hello!",
    "phoneNumber": "+01-123-456-7890",
    "author": { "familyName": null },
    "tags": [ "example" ]
  }`) as JsonValue;
  assert.equal(mergePatch(target, patch), {
    title: 'Hello!',
    author: { givenName: 'John' },
    tags: ['example'],
    content: 'This will be unchanged',
    phoneNumber: '+01-123-456-7890',
  });
});

test('neither the target nor the patch is changed, in any example (both deep-frozen, and compared with copies after)', () => {
  const cases: Array<[JsonValue | undefined, JsonValue]> = [
    ...APPENDIX_A.map(([o, p]) => [JSON.parse(o), JSON.parse(p)] as [JsonValue, JsonValue]),
    [{ a: { b: { c: 1, d: [1, 2] } }, keep: { x: 1 } }, { a: { b: { c: null, e: { f: 1 } } } }],
    [undefined, { a: { b: null } }],
    [{ bytes: new Uint8Array([1, 2]) }, { bytes: { now: 'an object' } }],
  ];
  for (const [target, patch] of cases) {
    const targetCopy = structuredClone(target);
    const patchCopy = structuredClone(patch);
    mergePatch(deepFreeze(target), deepFreeze(patch));
    assert.ok(isDeepStrictEqual(target, targetCopy), `target changed: ${JSON.stringify(targetCopy)}`);
    assert.ok(isDeepStrictEqual(patch, patchCopy), `patch changed: ${JSON.stringify(patchCopy)}`);
  }
});

test('the result shares no object with the patch that a later patch of the result could change', () => {
  const patch = { a: { b: 1 } };
  const first = mergePatch({}, patch) as { a: { b: number } };
  const second = mergePatch(first, { a: { b: 2 } }) as { a: { b: number } };
  assert.is(patch.a.b, 1);
  assert.is(first.a.b, 1);
  assert.is(second.a.b, 2);
});

test('unchanged subtrees are shared with the target, changed ones are new objects', () => {
  const target = { keep: { deep: [1] }, change: { x: 1 } };
  const out = mergePatch(target, { change: { y: 2 } }) as typeof target & { change: { y: number } };
  assert.is(out.keep, target.keep);
  assert.is.not(out.change, target.change);
  assert.equal(out, { keep: { deep: [1] }, change: { x: 1, y: 2 } });
});

test('no target (undefined) patches as if it were an empty object', () => {
  assert.equal(mergePatch(undefined, { a: 1, b: null, c: { d: null } }), { a: 1, c: {} });
  assert.equal(mergePatch(undefined, 'x'), 'x');
});

test('bytes are a value, not an object: a patch replaces them, and an object patch over them starts from empty', () => {
  assert.equal(mergePatch({ b: { x: 1 } }, { b: new Uint8Array([1]) }), { b: new Uint8Array([1]) });
  assert.equal(mergePatch({ b: new Uint8Array([1, 2]) }, { b: { x: 1 } }), { b: { x: 1 } });
});

test('a "__proto__" key in a patch stays an own key and never changes the prototype', () => {
  const patch = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as JsonValue;
  const out = mergePatch({}, patch) as Record<string, unknown>;
  assert.is(Object.getPrototypeOf(out), Object.prototype);
  assert.ok(Object.hasOwn(out, '__proto__'));
  assert.equal(Object.keys(out).sort(), ['__proto__', 'a']);
  assert.is(({} as Record<string, unknown>).polluted, undefined);
  // And patching it again merges into that own key.
  const again = mergePatch(out as JsonValue, JSON.parse('{"__proto__": {"more": 1}}') as JsonValue) as Record<string, unknown>;
  assert.equal(Object.getOwnPropertyDescriptor(again, '__proto__')!.value, { polluted: true, more: 1 });
});

test('keys named like Object.prototype members (constructor, toString, hasOwnProperty) are ordinary keys', () => {
  // isDeepStrictEqual: uvu's equal reads `.constructor`, which these objects own.
  assert.ok(isDeepStrictEqual(mergePatch({}, { constructor: { a: 1 }, toString: 'x' }), { constructor: { a: 1 }, toString: 'x' }));
  assert.ok(isDeepStrictEqual(mergePatch({ constructor: { a: 1 } }, { constructor: { b: 2 }, hasOwnProperty: null }), { constructor: { a: 1, b: 2 } }));
  assert.ok(isDeepStrictEqual(mergePatch({}, { valueOf: { x: null } }), { valueOf: {} }));
});

test.run();
