import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { CommitJournal, JOURNAL_MAGIC } from '../../src/backends/flatfile/commit-journal.js';
import { replayJournals } from '../../src/backends/flatfile/journal-replay.js';
import { FEED_MAGIC, encodeFrame } from '../../src/backends/flatfile/frame.js';
import { encodeMsgpack } from '../../src/codec/event-codec.js';
import { readSynced, writeSynced } from '../../src/backends/flatfile/store-files.js';
import { Monitor } from '../../src/engine/monitor.js';
import { ErrorCode, FfcdbError } from '../../src/kernel/errors.js';
import { openStore } from '../../src/engine/open-store.js';
import { EventStore } from '../../src/engine/event-store.js';
import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import { flatfileSuite } from './unit-helpers.js';

const test = flatfileSuite('flatfile/commit-journal');
const MiB = 1024 * 1024;

function freshDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-journal-'));
}

function filesUnder(dir: string, sub: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  if (fs.existsSync(path.join(dir, sub))) walk(path.join(dir, sub));
  return out;
}

/** A whole feed frame for position 1 of `streamId`. */
function feedFrame(streamId: string): Buffer {
  const payload = encodeMsgpack([streamId, 1, 0, 100]);
  return encodeFrame({ magic: FEED_MAGIC, flags: 0, count: 1, epoch: 1, rawLength: payload.length, linkOffset: 0, linkSegment: 0, firstVersion: 1, firstPosition: 1 }, payload);
}

async function everything(store: EventStore): Promise<Array<[number, string, number, unknown]>> {
  const out: Array<[number, string, number, unknown]> = [];
  for await (const e of store.streamAll()) out.push([e.position, e.streamId, e.version, e.data]);
  return out;
}

test('a record is replayed where it belongs: the same bytes at the same offsets, creating missing folders', async () => {
  const root = freshDir();
  try {
    const journal = CommitJournal.create(root, 1, MiB);
    const target = path.join(root, 'streams', 'ab', 'cd', 's', '0000000000000001.seg');
    const record = journal.record(
      [
        { file: target, offset: 0, bytes: Buffer.from('data') },
        { file: target, offset: 4, bytes: Buffer.from('more') },
      ],
      1,
      1,
      1,
    )!;
    assert.ok(journal.fits(record));
    await journal.append(record);
    journal.close(false);
    assert.is(replayJournals(root, 0, new Monitor()), 1);
    assert.equal(fs.readFileSync(target).toString(), 'datamore');
    // Twice changes nothing.
    assert.is(replayJournals(root, 0, new Monitor()), 1);
    assert.is(fs.readFileSync(target).length, 8);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("scrub blanks every record and zeroes what lies past them (an older record's remains after a rewind); replay skips the blanked ones and still reaches the owner's later records", async () => {
  const root = freshDir();
  try {
    const journal = CommitJournal.create(root, 1, MiB);
    const target = (name: string) => path.join(root, 'streams', 'ab', 'cd', name, '0000000000000001.seg');
    const secret = Buffer.from('secret-bytes-'.repeat(20));
    await journal.append(journal.record([{ file: target('old'), offset: 0, bytes: secret }], 1, 1, 1)!);
    journal.rewind();
    // A shorter record over the start of the old one: the old one's tail (holding most of the secret) remains.
    await journal.append(journal.record([{ file: target('new'), offset: 0, bytes: Buffer.from('short') }], 2, 1, 1)!);
    const file = filesUnder(root, 'journal')[0]!;
    assert.ok(fs.readFileSync(file).includes('secret-bytes-secret-bytes'), "the old record's remains are there before the scrub");

    CommitJournal.scrub(root);
    const scrubbed = fs.readFileSync(file);
    assert.not.ok(scrubbed.includes('secret-bytes'), 'nothing of the old record remains');
    assert.not.ok(scrubbed.includes('short'), 'the live record is blanked');
    assert.is(replayJournals(root, 0, new Monitor()), 0, 'blanked records are not replayed, whatever their positions');
    assert.equal(filesUnder(root, 'streams'), []);

    // The journal's owner goes on after its blanked record; replay walks to the new one.
    await journal.append(journal.record([{ file: target('later'), offset: 0, bytes: Buffer.from('later') }], 3, 1, 1)!);
    journal.close(false);
    assert.is(replayJournals(root, 0, new Monitor()), 1);
    assert.equal(fs.readFileSync(target('later')).toString(), 'later');
    CommitJournal.scrub(root);
    const scrubbedAt = fs.statSync(file).mtimeMs;
    await new Promise((resolve) => setTimeout(resolve, 20));
    CommitJournal.scrub(root);
    assert.is(fs.statSync(file).mtimeMs, scrubbedAt, 'a journal scrubbed already is not written again');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('records at or below the synced position are not replayed', async () => {
  const root = freshDir();
  try {
    const journal = CommitJournal.create(root, 1, MiB);
    const target = path.join(root, 'feed', '0000000000000001.feed');
    await journal.append(journal.record([{ file: target, offset: 0, bytes: Buffer.from('x') }], 1, 3, 1)!);
    journal.close(false);
    const file = filesUnder(root, 'journal')[0]!;
    const kept = fs.readFileSync(file);
    assert.is(replayJournals(root, 3, new Monitor()), 0);
    assert.not.ok(fs.existsSync(target));
    fs.writeFileSync(file, kept); // (replay removed it: its owner is gone and it held nothing above 3)
    assert.is(replayJournals(root, 2, new Monitor()), 1);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a record whose feed frame was superseded (its positions went to another commit after it failed) is not replayed', async () => {
  const root = freshDir();
  try {
    const feed = path.join(root, 'feed', '0000000000000001.feed');
    const stream = path.join(root, 'streams', 'ab', 'cd', 'failed', '0000000000000001.seg');
    const journal = CommitJournal.create(root, 1, MiB);
    await journal.append(journal.record([{ file: stream, offset: 0, bytes: Buffer.from('failed commit') }, { file: feed, offset: 0, bytes: feedFrame('failed') }], 1, 1, 1)!);
    journal.close(false);
    fs.mkdirSync(path.dirname(feed), { recursive: true });
    fs.writeFileSync(feed, feedFrame('winner'));
    assert.is(replayJournals(root, 0, new Monitor()), 0);
    assert.ok(fs.readFileSync(feed).equals(feedFrame('winner')));
    assert.not.ok(fs.existsSync(stream));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

for (const [loser, winner] of [
  ['failed-with-a-longer-id', 'w'],
  ['f', 'winner-with-a-longer-id'],
] as const) {
  test(`a superseded record is recognised whatever the lengths of the two feed frames (${loser.length} vs ${winner.length} characters of stream id)`, async () => {
    const root = freshDir();
    try {
      const feed = path.join(root, 'feed', '0000000000000001.feed');
      const journal = CommitJournal.create(root, 1, MiB);
      await journal.append(journal.record([{ file: feed, offset: 0, bytes: feedFrame(loser) }], 1, 1, 1)!);
      journal.close(false);
      fs.mkdirSync(path.dirname(feed), { recursive: true });
      fs.writeFileSync(feed, feedFrame(winner));
      assert.is(replayJournals(root, 0, new Monitor()), 0);
      assert.ok(fs.readFileSync(feed).equals(feedFrame(winner)), 'the committed feed frame is untouched');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
}

test('the synced record never goes down: a lower position written later leaves the higher one', () => {
  const root = freshDir();
  try {
    writeSynced(root, 52);
    writeSynced(root, 2);
    assert.is(readSynced(root), 52);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a record naming a path outside the logs is refused with UNSAFE_PATH and writes nothing', async () => {
  const root = freshDir();
  try {
    const journal = CommitJournal.create(root, 1, MiB);
    await journal.append(journal.record([{ file: path.join(root, 'ffcdb.json'), offset: 0, bytes: Buffer.from('{}') }], 1, 1, 1)!);
    journal.close(false);
    try {
      replayJournals(root, 0, new Monitor());
      assert.unreachable('replay must refuse the record');
    } catch (err) {
      assert.ok(err instanceof FfcdbError && err.code === ErrorCode.UNSAFE_PATH, String(err));
    }
    assert.not.ok(fs.existsSync(path.join(root, 'ffcdb.json')));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a record larger than the journal is not made (the commit is fsynced in place instead)', () => {
  const root = freshDir();
  try {
    const journal = CommitJournal.create(root, 1, 64 * 1024);
    assert.is(journal.record([{ file: path.join(root, 'feed', 'f'), offset: 0, bytes: Buffer.alloc(128 * 1024) }], 1, 1, 1), undefined);
    journal.close(true);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('journals of processes that are gone are removed, this process\'s is kept', () => {
  const root = freshDir();
  try {
    const mine = CommitJournal.create(root, 1, 64 * 1024);
    fs.writeFileSync(path.join(root, 'journal', '7-999999999.journal'), '');
    CommitJournal.removeDead(root);
    assert.equal(fs.readdirSync(path.join(root, 'journal')), [`1-${process.pid}.journal`]);
    mine.close(true);
    assert.equal(fs.readdirSync(path.join(root, 'journal')), []);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('acknowledged appends survive losing every unsynced byte of the logs (a power failure): the journal brings them back', async () => {
  const dir = freshDir();
  const lost = freshDir();
  try {
    const store = await openStore({ dir, durability: 'always' });
    await store.append('a', { type: 't', data: 'before' });
    await store.close(); // synced: position 1 is in the logs on disk
    const sizes = new Map([...filesUnder(dir, 'streams'), ...filesUnder(dir, 'feed')].map((f) => [path.relative(dir, f), fs.statSync(f).size]));

    const again = await openStore({ dir, durability: 'always' });
    await again.append('a', [{ type: 't', data: 1 }, { type: 't', data: 2 }]);
    await again.append('b', { type: 't', data: 3 }); // a new stream: new folders and segment file
    // The machine loses power now: copy the folder as the disk holds it. The logs lose every byte
    // written since the last sync (and the new stream's files), the journal keeps its fsynced records.
    fs.cpSync(dir, lost, { recursive: true });
    await again.close();
    for (const f of [...filesUnder(lost, 'streams'), ...filesUnder(lost, 'feed')]) {
      const before = sizes.get(path.relative(lost, f));
      if (before === undefined) fs.rmSync(f);
      else fs.truncateSync(f, before);
    }
    fs.rmSync(path.join(lost, 'writer.lock'), { recursive: true, force: true });

    const reopened = await openStore({ dir: lost, durability: 'always' });
    assert.equal(await everything(reopened), [
      [1, 'a', 1, 'before'],
      [2, 'a', 2, 1],
      [3, 'a', 3, 2],
      [4, 'b', 1, 3],
    ]);
    await reopened.append('b', { type: 't', data: 4 });
    assert.is(await reopened.streamVersion('b'), 2);
    await reopened.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(lost, { recursive: true, force: true });
  }
});

test('a group commit of several streams whose first feed frame reached the disk and the rest did not: replay restores the whole group (power-loss finding)', async () => {
  const dir = freshDir();
  const lost = freshDir();
  try {
    const store = await openStore({ dir, durability: 'always' });
    await store.append('a', { type: 't', data: 'before' });
    await store.close();
    const feed = path.join(dir, 'feed', '0000000000000001.feed');
    const synced = fs.statSync(feed).size;
    const again = await openStore({ dir, durability: 'always' });
    // Queued together: one commit group, one journal record whose feed write holds three feed frames.
    await Promise.all(['b', 'c', 'd'].map((s, i) => again.append(s, { type: 't', data: i })));
    fs.cpSync(dir, lost, { recursive: true });
    await again.close();
    // Power loss: the group's first feed frame reached the disk, the others (and every stream frame) did not.
    const first = 60 + fs.readFileSync(feed).readUInt32LE(synced + 16);
    fs.truncateSync(path.join(lost, 'feed', '0000000000000001.feed'), synced + first);
    for (const f of filesUnder(lost, 'streams')) if (!f.includes(`${path.sep}a${path.sep}`)) fs.rmSync(f);
    fs.rmSync(path.join(lost, 'writer.lock'), { recursive: true, force: true });

    const reopened = await openStore({ dir: lost, durability: 'always' });
    assert.equal((await everything(reopened)).map(([p, s, v]) => [p, s, v]), [
      [1, 'a', 1],
      [2, 'b', 1],
      [3, 'c', 1],
      [4, 'd', 1],
    ]);
    await reopened.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(lost, { recursive: true, force: true });
  }
});

test("a checkpoint fsyncs the folders of streams another writer created, not only its own", async () => {
  const dir = freshDir();
  try {
    const writer = await openStore({ dir, durability: 'always' });
    await writer.append('made-by-the-other', { type: 't', data: 1 });
    const synced: string[] = [];
    const checkpointer = await EventStore.open(new FlatfileBackend({ dir, durability: 'always', faults: { sync: (f) => void synced.push(f) } }));
    const streamDir = path.dirname(filesUnder(dir, 'streams')[0]!);
    assert.ok(synced.includes(streamDir), `the stream's folder was fsynced when the second writer took the lock (${synced.join(', ')})`);
    assert.ok(synced.includes(path.dirname(streamDir)), "and the new shard folder holding it");
    await checkpointer.close();
    await writer.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('closing checkpoints and removes the journal; many groups wrap the journal around through checkpoints', async () => {
  const dir = freshDir();
  try {
    const store = await openStore({ dir, durability: 'always' });
    // ~2 KiB per record: a 16 MiB journal wraps after ~8,000 groups; 64 concurrent appends per round keep this quick.
    const big = 'x'.repeat(1500);
    for (let round = 0; round < 150; round++) {
      await Promise.all(Array.from({ length: 64 }, (_, i) => store.append(`s${i}`, { type: 't', data: big })));
    }
    assert.is(await store.headPosition(), 150 * 64);
    await store.close();
    assert.equal(fs.readdirSync(path.join(dir, 'journal')), []);
    assert.is(fs.readFileSync(path.join(dir, 'synced'), 'utf8'), String(150 * 64));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---- two processes, a full disk, crafted records ---------------------------------

const noSpace = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });

test('a journal its owner removes between replay listing the folder and reading it (another process closing its store) is passed over, not an IO error', async () => {
  const root = freshDir();
  const original = fs.readdirSync;
  try {
    const journal = CommitJournal.create(root, 1, MiB);
    await journal.append(journal.record([{ file: path.join(root, 'feed', '0000000000000001.feed'), offset: 0, bytes: feedFrame('a') }], 1, 1, 1)!);
    journal.close(false);
    const file = filesUnder(root, 'journal')[0]!;
    // The listing still names it; by the time replay opens it, its owner has removed it.
    fs.readdirSync = ((...args: Parameters<typeof original>) => {
      const names = original(...args);
      if (String(args[0]).endsWith('journal')) fs.rmSync(file, { force: true });
      return names;
    }) as typeof fs.readdirSync;
    assert.is(replayJournals(root, 0, new Monitor()), 0);
  } finally {
    fs.readdirSync = original;
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a journal that cannot be preallocated (ENOSPC) is removed by create, and the error is IO', () => {
  const root = freshDir();
  try {
    let chunks = 0;
    const err = (() => {
      try {
        CommitJournal.create(root, 1, 4 * MiB, {
          write: () => {
            if (++chunks === 3) throw noSpace();
          },
        });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof FfcdbError && err.code === ErrorCode.IO, String(err));
    assert.equal(fs.readdirSync(path.join(root, 'journal')), [], 'no journal is left to hold the space');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('an open that fails on a full disk while making its journal leaves no journal behind, and the next open succeeds with everything', async () => {
  const dir = freshDir();
  try {
    const store = await openStore({ dir, durability: 'always' });
    await store.append('a', { type: 't', data: 1 });
    await store.close();
    const full = (file: string) => {
      if (file.endsWith('.journal')) throw noSpace();
    };
    try {
      await EventStore.open(new FlatfileBackend({ dir, durability: 'always', faults: { write: full } }));
      assert.unreachable('the open must fail');
    } catch (err) {
      assert.ok(err instanceof FfcdbError && err.code === ErrorCode.IO, String(err));
    }
    assert.equal(fs.readdirSync(path.join(dir, 'journal')), []);
    const again = await openStore({ dir, durability: 'always' });
    assert.equal(await everything(again), [[1, 'a', 1, 1]]);
    await again.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a gone process's journal that holds nothing to replay (left preallocated) is removed by replay itself, before recovery writes anything", () => {
  const root = freshDir();
  try {
    fs.mkdirSync(path.join(root, 'journal'));
    const leftover = path.join(root, 'journal', '7-999999999.journal');
    fs.writeFileSync(leftover, Buffer.alloc(MiB));
    const live = CommitJournal.create(root, 8, 64 * 1024); // this process's, open: kept
    assert.is(replayJournals(root, 0, new Monitor()), 0);
    assert.equal(fs.readdirSync(path.join(root, 'journal')), [`8-${process.pid}.journal`]);
    live.close(true);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("a disk that is full until a dead process's leftover journal goes: opening removes it before it fsyncs what it recovers, and succeeds", async () => {
  const dir = freshDir();
  try {
    // A writer whose commit is above `synced` (in its journal only): the next opening syncs it.
    const writer = await openStore({ dir, durability: 'always' });
    await writer.append('a', { type: 't', data: 1 });
    const leftover = path.join(dir, 'journal', '9-999999999.journal');
    fs.writeFileSync(leftover, Buffer.alloc(MiB));
    const full = () => {
      if (fs.existsSync(leftover)) throw noSpace();
    };
    const other = await EventStore.open(new FlatfileBackend({ dir, durability: 'always', faults: { write: full, sync: full } }));
    assert.not.ok(fs.existsSync(leftover));
    assert.equal(await everything(other), [[1, 'a', 1, 1]]);
    await other.close();
    await writer.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A closed store of one stream 's' with two events (positions 1 and 2, synced), and its segment file. */
async function syncedStore(dir: string): Promise<string> {
  const store = await openStore({ dir, durability: 'always' });
  await store.append('s', { type: 't', data: 1 });
  await store.append('s', { type: 't', data: 2 });
  await store.close();
  assert.is(readSynced(dir), 2);
  return filesUnder(dir, 'streams')[0]!;
}

/** Appends a crafted record for position 3 with these writes to a new journal of this process, closed. */
async function craftedRecord(dir: string, writes: Array<{ file: string; offset: number; bytes: Buffer }>): Promise<string> {
  const journal = CommitJournal.create(dir, 50, MiB);
  await journal.append(journal.record(writes, 3, 1, 1)!);
  journal.close(false);
  return path.join(dir, 'journal', `50-${process.pid}.journal`);
}

function expectCorrupt(fn: () => unknown, journal: string): FfcdbError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FfcdbError && err.code === ErrorCode.CORRUPT, String(err));
    assert.is((err as FfcdbError).details.file, journal);
    assert.is((err as FfcdbError).details.offset, 0);
    return err as FfcdbError;
  }
  assert.unreachable('replay must refuse the record');
  throw new Error('unreachable');
}

test('a record writing at an offset past the end of its file (2^40) is refused with CORRUPT: no sparse file is made, nothing is written', async () => {
  const dir = freshDir();
  try {
    const seg = await syncedStore(dir);
    const size = fs.statSync(seg).size;
    const fresh = path.join(dir, 'streams', 'ab', 'cd', 'new', '0000000000000001.seg');
    const journal = await craftedRecord(dir, [{ file: seg, offset: 2 ** 40, bytes: Buffer.from('x') }]);
    const err = expectCorrupt(() => replayJournals(dir, 2, new Monitor()), journal);
    assert.ok(err.message.includes('hole'), err.message);
    assert.is(fs.statSync(seg).size, size);
    fs.rmSync(journal);
    const second = await craftedRecord(dir, [{ file: fresh, offset: 2 ** 40, bytes: Buffer.from('x') }]);
    expectCorrupt(() => replayJournals(dir, 2, new Monitor()), second);
    assert.not.ok(fs.existsSync(fresh));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a record with a valid path and bogus bytes over synced segment data is refused with CORRUPT before any of its writes; opening the store refuses it too, and the synced events read back', async () => {
  const dir = freshDir();
  try {
    const seg = await syncedStore(dir);
    const before = fs.readFileSync(seg);
    const fresh = path.join(dir, 'streams', 'ab', 'cd', 'new', '0000000000000001.seg');
    const journal = await craftedRecord(dir, [
      { file: fresh, offset: 0, bytes: Buffer.from('a harmless new file') },
      { file: seg, offset: 10, bytes: Buffer.from('bogus bytes over a synced frame') },
    ]);
    const err = expectCorrupt(() => replayJournals(dir, 2, new Monitor()), journal);
    assert.ok(err.message.includes('reached the disk'), err.message);
    assert.ok(fs.readFileSync(seg).equals(before), 'the synced frames are untouched');
    assert.not.ok(fs.existsSync(fresh), "none of the refused record's writes is made");
    try {
      await openStore({ dir, durability: 'always' });
      assert.unreachable('opening must refuse the record');
    } catch (e) {
      assert.ok(e instanceof FfcdbError && e.code === ErrorCode.CORRUPT && e.details.file === journal, String(e));
    }
    assert.ok(fs.readFileSync(seg).equals(before));
    fs.rmSync(journal);
    const store = await openStore({ dir, durability: 'always' });
    assert.equal(await everything(store), [
      [1, 's', 1, 1],
      [2, 's', 2, 2],
    ]);
    await store.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a record whose bytes over synced data are the bytes already there (a replay of what had reached the disk) is applied', async () => {
  const dir = freshDir();
  try {
    const seg = await syncedStore(dir);
    const before = fs.readFileSync(seg);
    await craftedRecord(dir, [{ file: seg, offset: 0, bytes: before }]);
    assert.is(replayJournals(dir, 2, new Monitor()), 1);
    assert.ok(fs.readFileSync(seg).equals(before));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a record whose checksum holds but whose payload is not msgpack is refused with CORRUPT naming the journal and record, not a decoder error', async () => {
  const dir = freshDir();
  try {
    await syncedStore(dir);
    const journal = await craftedRecord(dir, []);
    const payload = Buffer.alloc(0);
    const record = encodeFrame({ magic: JOURNAL_MAGIC, flags: 0, count: 1, epoch: 1, rawLength: 0, linkOffset: 0, linkSegment: 0, firstVersion: 1, firstPosition: 3 }, payload);
    const bytes = fs.readFileSync(journal);
    record.copy(bytes, 0);
    fs.writeFileSync(journal, bytes);
    const err = expectCorrupt(() => replayJournals(dir, 2, new Monitor()), journal);
    assert.ok(err.message.includes('not msgpack'), err.message);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a record naming the feed folder itself, not a file in it, is refused with UNSAFE_PATH, not EISDIR', async () => {
  const dir = freshDir();
  try {
    await syncedStore(dir);
    await craftedRecord(dir, [{ file: path.join(dir, 'feed'), offset: 0, bytes: Buffer.from('x') }]);
    try {
      replayJournals(dir, 2, new Monitor());
      assert.unreachable('replay must refuse the record');
    } catch (err) {
      assert.ok(err instanceof FfcdbError && err.code === ErrorCode.UNSAFE_PATH, String(err));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
