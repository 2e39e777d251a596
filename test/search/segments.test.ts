import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { EventStore } from '../../src/engine/event-store.js';
import { ErrorCode, FfcdbError } from '../../src/kernel/errors.js';
import { SEARCH_PROJECTION_VERSION } from '../../src/projections/search/projection.js';
import { encodeManifest, readManifest, writeManifest } from '../../src/search/manifest.js';
import { runQuery } from '../../src/search/query.js';
import { SegmentFile } from '../../src/search/segment-file.js';
import { encodeChecksummed } from '../../src/storage/checksummed-file.js';
import { pack } from 'msgpackr';
import { SearchIndex, type SearchIndexOptions } from '../../src/search/search-index.js';
import { withTempDir } from '../chat/helpers.js';

const WORDS = ['otter', 'badger', 'heron', 'lynx', 'marten', 'stoat', 'vole', 'wren'];

/** A chat store in `dir` with `n` messages over 3 sessions of alice, each message naming two animals. */
async function seeded(dir: string, n: number): Promise<{ chat: ChatStore; sessions: string[]; messages: string[] }> {
  const chat = await openChatStore({ dir, durability: 'none' });
  await chat.users.create({ userId: 'alice' });
  const sessions: string[] = [];
  for (let i = 0; i < 3; i++) sessions.push((await chat.sessions.create({ userId: 'alice', title: `Session ${i}` })).sessionId);
  const messages: string[] = [];
  for (let i = 0; i < n; i++) {
    const content = `note ${i}: the ${WORDS[i % 8]} met the ${WORDS[(i * 3 + 1) % 8]} by the river`;
    messages.push((await chat.messages.add(sessions[i % 3]!, { role: i % 2 ? 'assistant' : 'user', content })).messageId);
  }
  return { chat, sessions, messages };
}

const QUERIES = ['otter', 'heron lynx', '"the otter met"', 'mar*', 'river -vole', 'session'];

function answers(index: SearchIndex, userId = 'alice'): unknown[] {
  return QUERIES.map((q) => runQuery(index, userId, q, { limit: 100 }).items.map((h) => [h.itemId, h.score]));
}

/** Counts the events an index reads from the feed. */
function counting(events: EventStore): { store: EventStore; read: () => number } {
  let read = 0;
  const store = new Proxy(events, {
    get(target, prop) {
      if (prop === 'readAll') {
        return async (...args: Parameters<EventStore['readAll']>) => {
          const page = await target.readAll(...args);
          read += page.events.length;
          return page;
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { store, read: () => read };
}

const small = (dir: string): SearchIndexOptions => ({ dir: path.join(dir, 'search-test'), flushDocs: 5, mergeFactor: 2 });
const segmentFiles = (dir: string) => fs.readdirSync(path.join(dir, 'search-test')).filter((n) => n.endsWith('.seg'));

test('flushes write segments, merges keep their number logarithmic, and answers equal a single in-memory index', () =>
  withTempDir(async (dir) => {
    const { chat } = await seeded(dir, 60);
    const disk = await SearchIndex.open(chat.events, small(dir));
    const memory = await SearchIndex.open(chat.events);
    // Merged segments replace their sources at once; the sources' files go with the next manifest.
    await disk.idle();
    assert.equal(answers(disk), answers(memory));
    await disk.flush();
    const files = segmentFiles(dir);
    // 63 documents in flushes of about 5, merged in pairs: at most mergeFactor segments per doubling.
    assert.ok(files.length >= 1 && files.length <= 2 * Math.ceil(Math.log2(63 / 5)) + 1, `${files.length} segments`);
    assert.equal(answers(disk), answers(memory));
    assert.is(runQuery(disk, 'alice', 'otter').total, runQuery(memory, 'alice', 'otter').total);
    await disk.close();
    await memory.close();
    await chat.close();
  }));

test('a segment of several document blocks: lookups by key and by session, edits, deletes and answers as a single in-memory index', () =>
  withTempDir(async (dir) => {
    const { chat, sessions, messages } = await seeded(dir, 400);
    const disk = await SearchIndex.open(chat.events, { ...small(dir), flushDocs: 100_000 });
    await disk.flush();
    assert.is(disk.sources()[0]!.segment.docCount, 403);
    for (const i of [0, 130, 257, 399]) await chat.messages.edit(sessions[i % 3]!, messages[i]!, { content: `edited otter ${i}` });
    for (const i of [1, 128, 256]) await chat.messages.delete(sessions[i % 3]!, messages[i]!);
    await chat.sessions.delete(sessions[2]!);
    await disk.catchUp();
    const memory = await SearchIndex.open(chat.events);
    assert.equal(answers(disk), answers(memory));
    assert.equal(runQuery(disk, 'alice', 'edited', { limit: 100 }).items.map((h) => h.itemId).sort(), [0, 130, 399].map((i) => messages[i]!).sort());
    await disk.close();
    await memory.close();
    await chat.close();
  }));

test('edits, deletes and queries while segments are written in the background: answers stay exact, and the written segments carry the tombstones', () =>
  withTempDir(async (dir) => {
    const { chat, sessions } = await seeded(dir, 200);
    // A turn for other work after every step of a segment write, so the changes below land mid-write.
    const options = { ...small(dir), flushDocs: 10, mergeFactor: 2, sliceMs: 0 };
    const disk = await SearchIndex.open(chat.events, options);
    const fresh: string[] = [];
    for (let i = 0; i < 96; i++) {
      fresh.push((await chat.messages.add(sessions[i % 3]!, { role: 'user', content: `fresh heron note ${i}` })).messageId);
      await disk.catchUp();
      // Messages added a few steps ago: in the segment being written, or in one being merged.
      const j = i - 6;
      if (j >= 0 && j % 3 === 0) await chat.messages.edit(sessions[j % 3]!, fresh[j]!, { content: `edited pelican ${j}` });
      else if (j >= 0) await chat.messages.delete(sessions[j % 3]!, fresh[j]!);
      await disk.catchUp();
      if (i % 15 === 0) assert.equal(answers(disk), answers(await SearchIndex.open(chat.events)));
    }
    await disk.idle();
    const memory = await SearchIndex.open(chat.events);
    assert.equal(answers(disk), answers(memory));
    assert.is(runQuery(disk, 'alice', 'pelican', { limit: 100 }).total, 30);
    await disk.flush();
    await disk.close();
    const reopened = await SearchIndex.open(chat.events, options);
    assert.equal(answers(reopened), answers(memory));
    await reopened.close();
    await memory.close();
    await chat.close();
  }));

test('closing writes the memory segment out: reopening loads the manifest and reads no more of the feed than its checkpoint event', () =>
  withTempDir(async (dir) => {
    const { chat } = await seeded(dir, 42);
    const first = await SearchIndex.open(chat.events, small(dir));
    const before = answers(first);
    await first.close();
    const { store, read } = counting(chat.events);
    const again = await SearchIndex.open(store, small(dir));
    assert.is(read(), 1);
    assert.equal(answers(again), before);
    await again.close();
    await chat.close();
  }));

test('an index written under another version (an older tokenizer) is rebuilt from the log on open, and its manifest then says the current one', () =>
  withTempDir(async (dir) => {
    const { chat } = await seeded(dir, 30);
    const first = await SearchIndex.open(chat.events, small(dir));
    const expected = answers(first);
    await first.close();
    const folder = path.join(dir, 'search-test');
    const old = readManifest(folder)!;
    writeManifest(folder, encodeManifest({ ...old, version: SEARCH_PROJECTION_VERSION - 1 }));
    const { store, read } = counting(chat.events);
    const again = await SearchIndex.open(store, small(dir));
    // The whole log is read again, not just the checkpoint event.
    assert.ok(read() > 30);
    assert.equal(answers(again), expected);
    await again.close();
    assert.is(readManifest(folder)!.version, SEARCH_PROJECTION_VERSION);
    await chat.close();
  }));

test('edits and deletes after the checkpoint, lost in a crash, are applied again from the log', () =>
  withTempDir(async (dir) => {
    const { chat, sessions, messages } = await seeded(dir, 30);
    const first = await SearchIndex.open(chat.events, small(dir));
    await chat.messages.edit(sessions[0]!, messages[0]!, { content: 'now about a pelican' });
    await chat.messages.delete(sessions[1]!, messages[1]!);
    await chat.sessions.delete(sessions[2]!);
    await first.catchUp();
    const expected = answers(first);
    // As after a crash: only the last manifest is on disk.
    await first.close({ flush: false });
    const again = await SearchIndex.open(chat.events, small(dir));
    assert.equal(answers(again), expected);
    assert.equal(runQuery(again, 'alice', 'pelican').items.map((h) => h.itemId), [messages[0]]);
    assert.is(runQuery(again, 'alice', 'river', { sessionId: sessions[2]! }).total, 0);
    await again.close();
    await chat.close();
  }));

test('a second index on a folder another one holds keeps its own index in memory and leaves the files alone', () =>
  withTempDir(async (dir) => {
    const { chat } = await seeded(dir, 20);
    const owner = await SearchIndex.open(chat.events, small(dir));
    const guest = await SearchIndex.open(chat.events, small(dir));
    await chat.messages.add((await chat.sessions.list('alice')).items[0]!.sessionId, { role: 'user', content: 'the otter again and again by the river' });
    await owner.catchUp();
    await guest.catchUp();
    assert.equal(answers(guest), answers(owner));
    // The guest wrote nothing: it has only its memory segment.
    assert.is(guest.sources().length, 1);
    assert.ok(owner.sources().length > 1);
    await guest.close();
    await owner.close();
    await chat.close();
  }));

test('a damaged or missing manifest or segment rebuilds the index from the log; stray segment files are removed', () =>
  withTempDir(async (dir) => {
    const { chat } = await seeded(dir, 30);
    const first = await SearchIndex.open(chat.events, small(dir));
    const expected = answers(first);
    await first.close();
    const seg = path.join(dir, 'search-test', segmentFiles(dir)[0]!);
    const bytes = fs.readFileSync(seg);
    // A byte of the meta block, which opening checks (the other blocks are checked when read).
    const metaOffset = bytes.readDoubleBE(bytes.length - 20);
    bytes[metaOffset + 1] = bytes[metaOffset + 1]! ^ 0xff;
    fs.writeFileSync(seg, bytes);
    fs.writeFileSync(path.join(dir, 'search-test', 'seg-99999999.seg'), 'stray');
    const rebuilt = await SearchIndex.open(chat.events, small(dir));
    assert.equal(answers(rebuilt), expected);
    assert.not.ok(segmentFiles(dir).includes('seg-99999999.seg'));
    await rebuilt.close();
    fs.writeFileSync(path.join(dir, 'search-test', 'manifest'), 'garbage');
    const again = await SearchIndex.open(chat.events, small(dir));
    assert.equal(answers(again), expected);
    await again.close();
    await chat.close();
  }));

test('a postings block that fails its checksum is reported as CORRUPT, not read as wrong postings', () =>
  withTempDir(async (dir) => {
    const { chat } = await seeded(dir, 10);
    const index = await SearchIndex.open(chat.events, { ...small(dir), flushDocs: 1_000 });
    await index.flush();
    const seg = path.join(dir, 'search-test', segmentFiles(dir)[0]!);
    const bytes = fs.readFileSync(seg);
    // Every byte between the header and the meta block (postings, dictionary, documents and text) is damaged; the meta block still checks out.
    const metaOffset = bytes.readDoubleBE(bytes.length - 20);
    for (let i = 8; i < metaOffset; i++) bytes[i] = bytes[i]! ^ 0x5a;
    fs.writeFileSync(seg, bytes);
    try {
      runQuery(index, 'alice', 'otter');
      assert.unreachable('expected CORRUPT');
    } catch (err) {
      assert.instance(err, FfcdbError);
      assert.is((err as FfcdbError).code, ErrorCode.CORRUPT);
    }
    await index.close();
    await chat.close();
  }));

test('purging the session that holds the checkpoint event does not rebuild the index: the hole is a purge, not a cut tail', () =>
  withTempDir(async (dir) => {
    const { chat, sessions } = await seeded(dir, 60);
    const last = await chat.sessions.create({ userId: 'alice', title: 'Last one' });
    await chat.messages.add(last.sessionId, { role: 'user', content: 'the otter is last' });
    const first = await SearchIndex.open(chat.events, small(dir));
    await first.close();
    await chat.sessions.delete(last.sessionId, { purge: true });
    const { store, read } = counting(chat.events);
    const again = await SearchIndex.open(store, small(dir));
    assert.ok(read() < 10, `${read()} events read`);
    const memory = await SearchIndex.open(chat.events);
    assert.equal(answers(again), answers(memory));
    assert.ok(runQuery(again, 'alice', 'otter', { sessionId: sessions[0]! }).total > 0);
    await again.close();
    await memory.close();
    await chat.close();
  }));

test('a checkpoint that stepped over trailing gaps is not trusted once a log cut back below them gave those positions to new events: the index rebuilds', () =>
  withTempDir(async (dir) => {
    const created = (title: string) => ({ type: 'session.created', data: { userId: 'u1', title } });
    const keep = { ...created('keep'), id: 'e-keep' };
    const before = await EventStore.open(new MemoryBackend());
    await before.append('s-keep', keep);
    await before.append('s-gone', created('gone'));
    await before.append('s-gone', { type: 'session.deleted', data: { purge: true } });
    await before.purgeStream('s-gone');
    // Its last event is at 1; it reflects positions up to 3.
    await (await SearchIndex.open(before, small(dir))).close();
    // The same log, having lost everything after its first event (same id), then new events at positions 2 and 3.
    const cut = await EventStore.open(new MemoryBackend());
    await cut.append('s-keep', keep);
    await cut.append('s-new', created('otter talk'));
    await cut.append('s-new', { type: 'session.renamed', data: { title: 'otter chat' } });
    const reopened = await SearchIndex.open(cut, small(dir));
    assert.equal(answers(reopened, 'u1'), answers(await SearchIndex.open(cut), 'u1'));
    assert.is(runQuery(reopened, 'u1', 'otter').total, 1);
    await reopened.close();
  }));

test('flushes of very different sizes still merge: the segment count stays logarithmic', () =>
  withTempDir(async (dir) => {
    const { chat, sessions } = await seeded(dir, 3);
    const index = await SearchIndex.open(chat.events, small(dir));
    let total = 0;
    for (let i = 0; i < 16; i++) {
      const n = [1, 3, 12, 40][i % 4]!;
      for (let k = 0; k < n; k++) await chat.messages.add(sessions[k % 3]!, { role: 'user', content: `badger note ${i}.${k}` });
      total += n;
      await index.catchUp();
      await index.flush();
    }
    const files = segmentFiles(dir).length;
    assert.ok(files <= 2 * Math.ceil(Math.log2(total / 5)) + 2, `${files} segments for ${total} documents`);
    assert.equal(answers(index), answers(await SearchIndex.open(chat.events)));
    await index.close();
    await chat.close();
  }));

test('a segment that fails to be written fails the index until it is reopened, which indexes its documents again from the log', () =>
  withTempDir(async (dir) => {
    const { chat, sessions } = await seeded(dir, 12);
    const index = await SearchIndex.open(chat.events, small(dir));
    await index.flush();
    // The next segment names are taken by directories: writing any of them fails.
    const taken = Array.from({ length: 20 }, (_, i) => path.join(dir, 'search-test', `seg-${String(i + 1).padStart(8, '0')}.seg`)).filter((f) => !fs.existsSync(f));
    for (const f of taken) fs.mkdirSync(f);
    for (let k = 0; k < 6; k++) await chat.messages.add(sessions[0]!, { role: 'user', content: `aardvark ${k}` });
    const failing = async () => {
      await index.catchUp();
      await index.flush();
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await failing();
        assert.unreachable('expected the write to fail');
      } catch (err) {
        assert.instance(err, FfcdbError);
      }
    }
    await index.close({ flush: false }).catch(() => undefined);
    for (const f of taken) fs.rmdirSync(f);
    const again = await SearchIndex.open(chat.events, small(dir));
    assert.is(runQuery(again, 'alice', 'aardvark').total, 6);
    assert.equal(answers(again), answers(await SearchIndex.open(chat.events)));
    await again.close();
    await chat.close();
  }));

test('a session purged before the index read its deletion leaves the results', () =>
  withTempDir(async (dir) => {
    const { chat, sessions } = await seeded(dir, 12);
    assert.ok((await chat.search('alice', 'river', { sessionId: sessions[0]! })).total > 0);
    await chat.messages.add(sessions[0]!, { role: 'user', content: 'a fresh river note' });
    await chat.sessions.delete(sessions[0]!, { purge: true });
    assert.is((await chat.search('alice', 'river', { sessionId: sessions[0]! })).total, 0);
    assert.ok((await chat.search('alice', 'river')).total > 0);
    await chat.close();
  }));

test("a segment trailer whose meta block lies outside the file (offset NaN or past the end, length 2^32 - 1) is CORRUPT, checked before anything is allocated for it", () =>
  withTempDir(async (dir) => {
    const { chat } = await seeded(dir, 10);
    const index = await SearchIndex.open(chat.events, { ...small(dir), flushDocs: 1_000 });
    await index.flush();
    await index.close();
    await chat.close();
    const seg = path.join(dir, 'search-test', segmentFiles(dir)[0]!);
    const intact = fs.readFileSync(seg);
    const damaged: Array<(b: Buffer) => void> = [
      (b) => b.writeDoubleBE(Number.NaN, b.length - 20),
      (b) => b.writeDoubleBE(b.length * 2, b.length - 20),
      (b) => b.writeDoubleBE(-8, b.length - 20),
      (b) => b.writeUInt32BE(0xffff_ffff, b.length - 12),
    ];
    for (const damage of damaged) {
      const bytes = Buffer.from(intact);
      damage(bytes);
      fs.writeFileSync(seg, bytes);
      try {
        SegmentFile.open(seg).close();
        assert.unreachable('expected CORRUPT');
      } catch (err) {
        assert.instance(err, FfcdbError);
        assert.is((err as FfcdbError).code, ErrorCode.CORRUPT);
      }
    }
  }));

test('a manifest whose checksum holds but whose payload is not a manifest (not msgpack, null, a number) reads as none: the index rebuilds from the log', () =>
  withTempDir(async (dir) => {
    const { chat } = await seeded(dir, 10);
    const first = await SearchIndex.open(chat.events, small(dir));
    const expected = answers(first);
    await first.close();
    for (const payload of [Buffer.alloc(0), Buffer.from([0xc1]), pack(null), pack(7), pack({ version: 1, segments: 'x' })]) {
      fs.writeFileSync(path.join(dir, 'search-test', 'manifest'), encodeChecksummed({ magic: 0x4646534d, format: 1 }, payload));
      const again = await SearchIndex.open(chat.events, small(dir));
      assert.equal(answers(again), expected);
      await again.close();
    }
    await chat.close();
  }));

test.run();
