import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/kernel/errors.js';
import { encodeChecksummed, readChecksummedFile, writeChecksummedFile } from '../../src/storage/checksummed-file.js';
import { flatfileSuite, tempRoot, thrown } from '../flatfile/unit-helpers.js';

const test = flatfileSuite('storage: checksummed file');

const KIND = { magic: 0x46465445, format: 3 }; // "FFTE"
let dir = '';
test.before.each(() => {
  dir = tempRoot('checksummed');
});
test.after.each(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const file = () => path.join(dir, 'thing');
/** Writes `bytes` as the file, bypassing the helper, as damage or another writer would. */
const plant = (bytes: Buffer) => fs.writeFileSync(file(), bytes);
const reasonOf = (kind = KIND) => {
  const read = readChecksummedFile(file(), kind);
  return read.ok ? 'ok' : read.reason;
};

test('the bytes are magic u32, format u16, reserved u16, CRC-32 u32 and length u32, big-endian, then the payload', () => {
  const bytes = encodeChecksummed(KIND, Buffer.from('hello'));
  // CRC-32 of "hello" is 0x3610a686.
  assert.is(bytes.toString('hex'), ['46465445', '0003', '0000', '3610a686', '00000005', Buffer.from('hello').toString('hex')].join(''));
});

test('a written file reads back its payload, and no temp file is left beside it', () => {
  const payload = Buffer.from([0, 1, 2, 255, 254]);
  writeChecksummedFile(dir, 'thing', KIND, payload);
  const read = readChecksummedFile(file(), KIND);
  assert.ok(read.ok);
  assert.equal(read.ok && [...read.payload], [...payload]);
  assert.equal(fs.readdirSync(dir), ['thing']);
  assert.equal(fs.readFileSync(file()), encodeChecksummed(KIND, payload));
});

test('writing again replaces the file whole', () => {
  writeChecksummedFile(dir, 'thing', KIND, Buffer.alloc(1000, 7));
  writeChecksummedFile(dir, 'thing', KIND, Buffer.from('short'));
  const read = readChecksummedFile(file(), KIND);
  assert.is(read.ok && read.payload.toString(), 'short');
});

test('an empty payload round-trips', () => {
  writeChecksummedFile(dir, 'thing', KIND, Buffer.alloc(0));
  const read = readChecksummedFile(file(), KIND);
  assert.is(read.ok && read.payload.length, 0);
});

test('each way a file can be wrong gives its reason instead of a payload', () => {
  assert.is(reasonOf(), 'missing');
  const good = encodeChecksummed(KIND, Buffer.from('some payload'));
  plant(good.subarray(0, 15));
  assert.is(reasonOf(), 'short');
  plant(good);
  assert.is(reasonOf({ ...KIND, magic: 0x46465053 }), 'magic', 'another kind of file');
  assert.is(reasonOf({ ...KIND, format: 4 }), 'format', 'another format version');
  plant(good.subarray(0, good.length - 1));
  assert.is(reasonOf(), 'length', 'a cut payload');
  plant(Buffer.concat([good, Buffer.from('x')]));
  assert.is(reasonOf(), 'length', 'bytes after the payload');
  const flipped = Buffer.from(good);
  flipped[flipped.length - 1]! ^= 1;
  plant(flipped);
  assert.is(reasonOf(), 'checksum', 'a changed payload byte');
  plant(good);
  assert.is(reasonOf(), 'ok');
});

test('a symlink in place of the file is not followed: reading it fails with IO', () => {
  const elsewhere = path.join(dir, 'elsewhere');
  fs.writeFileSync(elsewhere, encodeChecksummed(KIND, Buffer.from('x')));
  fs.symlinkSync(elsewhere, file());
  const err = thrown(() => readChecksummedFile(file(), KIND));
  assert.is(err.code, ErrorCode.IO);
  assert.is(err.details.file, file());
});

test('a write into a folder that is gone fails with IO naming the file', () => {
  const gone = path.join(dir, 'gone');
  const err = thrown(() => writeChecksummedFile(gone, 'thing', KIND, Buffer.from('x')));
  assert.is(err.code, ErrorCode.IO);
  assert.is(err.details.file, path.join(gone, 'thing'));
});

test.run();
