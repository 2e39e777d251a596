/** The JSON the migration writes: bytes, key order, and a message event's payload put together around its content. */
import * as assert from 'uvu/assert';
import { feedEvent } from '../../src/migration/rows.js';
import { canonicalJson, jsonText } from '../../src/sql/values.js';
import type { RecordedEvent } from '../../src/kernel/types.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';

const test = flatfileSuite('migration: JSON of values');

const event = (type: string, data: RecordedEvent['data'], schemaVersion = 1): RecordedEvent => ({ id: 'e1', streamId: 's-a', version: 2, position: 7, type, schemaVersion, timestamp: 1, data, metadata: { actor: 'x' } });

test('bytes become {"$base64": ...}, Buffers too, at any depth', () => {
  assert.is(jsonText({ a: new Uint8Array([1, 2]), b: [Buffer.from([255])] }), '{"a":{"$base64":"AQI="},"b":[{"$base64":"/w=="}]}');
  assert.is(jsonText('plain'), '"plain"');
});

test("a message event's payload reads as JSON.stringify would write it, whatever its keys and content", () => {
  const contents = ['hi "there" \\\\ \\n \\u0000 😀', [{ type: 'text', text: 'a' }, { type: 'tool_call', id: 'c1', name: 'f', arguments: { deep: [1, { x: null }], '"q"': true } }]];
  for (const content of contents) {
    for (const data of [
      { messageId: 'm', role: 'user', content },
      { content, messageId: 'm', role: 'user', metadata: { model: 'x', n: 1.5 }, attachments: [{ documentId: 'd' }] },
    ]) {
      const fe = feedEvent(event('message.added', data as never, 2));
      assert.ok(fe.event, 'valid');
      assert.is(fe.row[7], JSON.stringify(data));
      assert.is(fe.contentJson, JSON.stringify(content));
    }
  }
  const edit = feedEvent(event('message.edited', { messageId: 'm', content: 'new', metadata: { raw: new Uint8Array([9]) } }));
  assert.is(edit.row[7], '{"messageId":"m","content":"new","metadata":{"raw":{"$base64":"CQ=="}}}');
});

test('an upcast message keeps its payload as recorded in the events row', () => {
  const fe = feedEvent(event('message.added', { messageId: 'm', role: 'user', content: 'old', model: 'gpt' }, 1));
  assert.is(fe.row[7], '{"messageId":"m","role":"user","content":"old","model":"gpt"}');
  assert.is(fe.contentJson, '"old"');
});

test('canonical JSON sorts keys at every level', () => {
  assert.is(canonicalJson('{"b": 1, "a": {"d": [ {"z": 1, "y": 2} ], "c": null}}'), '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}');
});

test.run();
