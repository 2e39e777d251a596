import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/kernel/errors.js';
import { FEED_DIR, STREAMS_DIR } from '../../src/storage/store-folder.js';
import { FEED_SUFFIX, Layout, SEGMENT_SUFFIX, listSegments, segmentName } from '../../src/backends/flatfile/layout.js';
import { isRealDirectory } from '../../src/storage/durable-files.js';
import { flatfileSuite, thrown, tempRoot } from './unit-helpers.js';

const test = flatfileSuite('flatfile/layout');

let root = '';
let layout: Layout;
let n = 0;

function freshDir(): string {
  const d = path.join(root, `d${n++}`);
  fs.mkdirSync(d);
  return d;
}

function mkfifo(p: string): boolean {
  try {
    execFileSync('mkfifo', [p], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test.before(() => {
  root = tempRoot('layout');
  layout = new Layout(root);
});

test.after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

test('streamDir shards by the first two bytes of sha256(stream id) as two hex levels', () => {
  for (const id of ['a', 'chat-1', 'session_42', 'Z'.repeat(128), '0abc']) {
    const h = createHash('sha256').update(id).digest('hex');
    assert.is(layout.streamDir(id), path.join(root, STREAMS_DIR, h.slice(0, 2), h.slice(2, 4), id), id);
  }
});

test('sharding spreads many ids over many folders, each level two lowercase hex digits', () => {
  const firstLevel = new Set<string>();
  const leaves = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const rel = path.relative(path.join(root, STREAMS_DIR), layout.streamDir(`s${i}`)).split(path.sep);
    assert.is(rel.length, 3);
    assert.match(rel[0]!, /^[0-9a-f]{2}$/);
    assert.match(rel[1]!, /^[0-9a-f]{2}$/);
    assert.is(rel[2], `s${i}`);
    firstLevel.add(rel[0]!);
    leaves.add(`${rel[0]}/${rel[1]}`);
  }
  assert.ok(firstLevel.size > 240, `${firstLevel.size} first-level folders`);
  assert.ok(leaves.size > 1900, `${leaves.size} leaf folders`);
});

test('ids differing only in case get their own folders', () => {
  assert.is.not(layout.streamDir('Chat'), layout.streamDir('chat'));
});

test('stream ids that would escape or break a path get an encoded folder name inside their shard', () => {
  const tricky = ['..', '.', 'a/b', 'a\\b', '/etc/passwd', '/abs', '../x', 'x/../../y', 'a'.repeat(129), ' a', 'a b', '-lead', '_lead', 'ä', 'a.b', 'a:b', 'CON', 'nul.txt', 'a.', '%2e%2e', 'x'.repeat(520)];
  for (const id of tricky) {
    const h = createHash('sha256').update(id).digest('hex');
    const dir = layout.streamDir(id);
    assert.is(path.dirname(dir), path.join(root, STREAMS_DIR, h.slice(0, 2), h.slice(2, 4)), JSON.stringify(id));
    assert.match(path.basename(dir), /^~[a-z0-9_%~-]+$/, JSON.stringify(id));
  }
});

test('stream ids the rule refuses (control characters, empty, too long, not strings) are INVALID_ID', () => {
  for (const id of ['a\0b', '\0', '', 'a\nb', 'x'.repeat(521)]) {
    const err = thrown(() => layout.streamDir(id));
    assert.is(err.code, ErrorCode.INVALID_ID, JSON.stringify(id));
  }
  for (const v of [undefined, null, 42, {}, ['a']]) {
    assert.is(thrown(() => layout.streamDir(v as unknown as string)).code, ErrorCode.INVALID_ID, String(v));
  }
  assert.ok(layout.streamDir('a'.repeat(128)).endsWith('a'.repeat(128)));
});

test('segment and feed paths use 16-digit zero-padded first versions/positions', () => {
  assert.is(segmentName(1, SEGMENT_SUFFIX), '0000000000000001.seg');
  assert.is(segmentName(12345, FEED_SUFFIX), '0000000000012345.feed');
  assert.is(segmentName(2 ** 53 - 1, SEGMENT_SUFFIX), '9007199254740991.seg');
  const dir = layout.streamDir('abc');
  assert.is(layout.segmentPath(dir, 42), path.join(dir, '0000000000000042.seg'));
  assert.is(layout.feedDir(), path.join(root, FEED_DIR));
  assert.is(layout.feedSegmentPath(7), path.join(root, FEED_DIR, '0000000000000007.feed'));
});

test('inside() accepts the root and paths below it, resolved', () => {
  assert.is(layout.inside(root), root);
  assert.is(layout.inside(path.join(root, 'a', 'b')), path.join(root, 'a', 'b'));
  assert.is(layout.inside(`${root}/a/../b`), path.join(root, 'b'));
  assert.is(layout.inside(`${root}/./x/`), path.join(root, 'x'));
});

test('inside() refuses paths outside the root with UNSAFE_PATH naming the resolved path', () => {
  const outside = [path.dirname(root), '/', '/etc/passwd', `${root}/../x`, `${root}/a/../../x`, `${root}-evil`, `${root}evil/x`, 'relative/path'];
  for (const p of outside) {
    const err = thrown(() => layout.inside(p));
    assert.is(err.code, ErrorCode.UNSAFE_PATH, p);
    assert.is(err.details.path, path.resolve(p), p);
  }
});

test('listSegments returns [] for a folder that does not exist', () => {
  assert.equal(listSegments(path.join(root, 'nope'), SEGMENT_SUFFIX), []);
});

test('listSegments sorts numerically and ignores unrelated names and the other suffix', () => {
  const dir = freshDir();
  for (const first of [10, 2, 1, 1000, 99]) fs.writeFileSync(path.join(dir, segmentName(first, SEGMENT_SUFFIX)), '');
  for (const name of [
    segmentName(5, FEED_SUFFIX),
    '123.seg',
    '00000000000000001.seg',
    '000000000000001.seg',
    `${segmentName(7, SEGMENT_SUFFIX)}.tmp`,
    `x${segmentName(8, SEGMENT_SUFFIX)}`,
    'notes.txt',
    'epoch',
    '000000000000000a.seg',
  ]) {
    fs.writeFileSync(path.join(dir, name), '');
  }
  fs.mkdirSync(path.join(dir, 'subfolder'));
  fs.symlinkSync('/etc/hostname', path.join(dir, 'unrelated-link'));
  assert.equal(listSegments(dir, SEGMENT_SUFFIX), [1, 2, 10, 99, 1000]);
  assert.equal(listSegments(dir, FEED_SUFFIX), [5]);
});

test('listSegments refuses a symlink with a segment name (to a file or a missing target) with UNSAFE_PATH', () => {
  const target = path.join(freshDir(), 'real');
  fs.writeFileSync(target, 'x');
  for (const to of [target, path.join(root, 'missing-target')]) {
    const dir = freshDir();
    fs.writeFileSync(path.join(dir, segmentName(1, SEGMENT_SUFFIX)), '');
    const link = path.join(dir, segmentName(2, SEGMENT_SUFFIX));
    fs.symlinkSync(to, link);
    const err = thrown(() => listSegments(dir, SEGMENT_SUFFIX));
    assert.is(err.code, ErrorCode.UNSAFE_PATH);
    assert.is(err.details.path, link);
  }
});

test('listSegments refuses a FIFO with a segment name with UNSAFE_PATH', () => {
  const dir = freshDir();
  const fifo = path.join(dir, segmentName(3, FEED_SUFFIX));
  if (!mkfifo(fifo)) {
    console.log('  (mkfifo unavailable: FIFO case skipped)');
    return;
  }
  const err = thrown(() => listSegments(dir, FEED_SUFFIX));
  assert.is(err.code, ErrorCode.UNSAFE_PATH);
  assert.is(err.details.path, fifo);
});

test('listSegments refuses a directory with a segment name with UNSAFE_PATH', () => {
  const dir = freshDir();
  fs.mkdirSync(path.join(dir, segmentName(4, SEGMENT_SUFFIX)));
  assert.is(thrown(() => listSegments(dir, SEGMENT_SUFFIX)).code, ErrorCode.UNSAFE_PATH);
});

test('listSegments on a path that is a file reports IO naming it', () => {
  const file = path.join(freshDir(), 'plain');
  fs.writeFileSync(file, '');
  const err = thrown(() => listSegments(file, SEGMENT_SUFFIX));
  assert.is(err.code, ErrorCode.IO);
  assert.is(err.details.file, file);
});

test('isRealDirectory is true for a real directory and false for a missing path', () => {
  assert.is(isRealDirectory(freshDir()), true);
  assert.is(isRealDirectory(path.join(root, 'not-there')), false);
});

test('isRealDirectory refuses a symlink to a directory with UNSAFE_PATH', () => {
  const real = freshDir();
  const link = path.join(root, `link${n++}`);
  fs.symlinkSync(real, link);
  const err = thrown(() => isRealDirectory(link));
  assert.is(err.code, ErrorCode.UNSAFE_PATH);
  assert.is(err.details.path, link);
});

test('isRealDirectory refuses a dangling symlink, a regular file and a FIFO with UNSAFE_PATH', () => {
  const dangling = path.join(root, `dangling${n++}`);
  fs.symlinkSync(path.join(root, 'nowhere'), dangling);
  assert.is(thrown(() => isRealDirectory(dangling)).code, ErrorCode.UNSAFE_PATH);
  const file = path.join(freshDir(), 'f');
  fs.writeFileSync(file, '');
  assert.is(thrown(() => isRealDirectory(file)).code, ErrorCode.UNSAFE_PATH);
  const fifo = path.join(freshDir(), 'fifo');
  if (mkfifo(fifo)) assert.is(thrown(() => isRealDirectory(fifo)).code, ErrorCode.UNSAFE_PATH);
});

test.run();
