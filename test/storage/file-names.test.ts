import * as assert from 'uvu/assert';
import { fileNameOf, legacyFileNameOf } from '../../src/storage/file-names.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';

const test = flatfileSuite('storage/file-names');

/** Ids of the one form earlier versions allowed: `[A-Za-z0-9][A-Za-z0-9_-]{0,127}`. */
const EARLIER_FORM = ['a', 'Z', '7', 'Alice', 'alice', 'u-Bob', 's-01J9ZQ3K5W8N2C4Q6R8T0V2X4Z', 'session_42', '0-0', 'A-b_C-9', 'x'.repeat(128), 'Z'.repeat(128), 'con1', 'comx', 'nullable', 'CONSOLE'];

test('an id of the earlier form is its own name, so stores written before keep their folders', () => {
  for (const id of EARLIER_FORM) {
    assert.is(fileNameOf(id), id, id);
    assert.is(legacyFileNameOf(id), undefined, id);
  }
});

test('any other id is `~` and its UTF-8 bytes, each byte outside a-z 0-9 _ - as %xx: ASCII, lowercase, no dots or separators', () => {
  assert.is(fileNameOf('User:1'), '~%55ser%3a1');
  assert.is(fileNameOf('..'), '~%2e%2e');
  assert.is(fileNameOf('%2e'), '~%252e');
  assert.is(fileNameOf('a/b'), '~a%2fb');
  assert.is(fileNameOf('a\\b'), '~a%5cb');
  assert.is(fileNameOf('é'), '~%c3%a9');
  assert.is(fileNameOf('~'), '~%7e');
  assert.is(fileNameOf('x'.repeat(129)), `~${'x'.repeat(129)}`);
  for (const id of ['.', 'a.', 'a ', ' ', 'a\u202Eb', '\u{1F600}', 'nul.txt', '-lead', '_lead', 'a b', 'A.B']) {
    assert.match(fileNameOf(id), /^~[a-z0-9_%-]+$/, JSON.stringify(id));
  }
});

test('Windows device names of the earlier form are encoded too, their earlier name kept for folders that have it', () => {
  for (const id of ['CON', 'con', 'Nul', 'PRN', 'aux', 'COM1', 'com9', 'LPT1', 'lpt0']) {
    assert.match(fileNameOf(id), /^~[a-z0-9%]+$/, id);
    assert.is(legacyFileNameOf(id), id);
  }
  assert.is(fileNameOf('CON'), '~%43%4f%4e');
});

test('ids differing only in case, or in an escape, never get names equal ignoring case, unless both are of the earlier form (their own names)', () => {
  const ids = ['Chat', 'chat', 'CHAT', 'chaT', 'Chat.', 'chat.', 'a%41', 'aA', 'aa', '%41', 'A', 'a', 'É', 'é', 'e\u0301', 'CON', 'con', 'Con', '~', '~7e', '%7e', 'Chat ', 'chat '];
  const earlierForm = (id: string) => fileNameOf(id) === id;
  for (const a of ids) {
    for (const b of ids) {
      if (a === b || (earlierForm(a) && earlierForm(b))) continue;
      assert.is.not(fileNameOf(a).toLowerCase(), fileNameOf(b).toLowerCase(), `${JSON.stringify(a)} and ${JSON.stringify(b)}`);
    }
  }
});

test('an id whose encoding would pass 200 bytes is named by a prefix of it and the sha256 of the id: under any file system name limit', () => {
  const long = ['é'.repeat(256), `${'é'.repeat(255)}x`, '\u{1F600}'.repeat(128), `${'/'.repeat(100)}a`, `${'/'.repeat(100)}b`, 'Z'.repeat(512), 'z'.repeat(200)];
  const names = new Set<string>();
  for (const id of long) {
    const name = fileNameOf(id);
    assert.ok(Buffer.byteLength(name) <= 200, `${name.length} bytes`);
    assert.match(name, /^~[a-z0-9_%-]*~[0-9a-f]{64}$/);
    names.add(name.toLowerCase());
  }
  assert.is(names.size, long.length);
  // 200 bytes of encoding still fits whole.
  assert.is(fileNameOf('z'.repeat(199)), `~${'z'.repeat(199)}`);
});

test.run();
