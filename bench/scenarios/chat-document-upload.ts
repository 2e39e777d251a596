/**
 * Upload a 10 MB document durably through the public chat API
 * (`chat.documents.upload({ sessionId, name, mediaType }, bytes)`: the bytes
 * hashed and stored in the content-addressed blob store — temporary file,
 * fsync, link, folder fsyncs — then a `document.uploaded` event appended with
 * durability 'always' under the blob lock, projections updated, the document
 * read back) into a session of a fresh store (one user, one session: the
 * size of the log does not enter an upload).
 *
 * Peers in the same run:
 * - SQLite (SqliteChatDb, WAL, synchronous=FULL): one transaction that checks
 *   the owner, hashes the bytes (sha256, as the API returns it), INSERT OR
 *   IGNORE into `blobs (sha256, size, data BLOB)`, INSERT into `documents`,
 *   and reads the document row back. (WAL auto-checkpoints, which copy the
 *   pages into the database file, happen inside these commits: SQLite's own
 *   cost of a 10 MB BLOB.)
 * - the disk's floor (bench/lib/disk-floor.ts): writeFile of the 10 MB, fsync
 *   of the file, fsync of its folder.
 *
 * New content every op (a counter in the first bytes of one random buffer);
 * each document is deleted after it is measured (untimed), so the disk holds
 * the same amount throughout.
 * Plan target: < 100 ms. Goals (p50): ≥ 10× inside it, no slower than SQLite,
 * within 2× of the floor.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openChatStore } from '../../src/chat/chat-store.js';
import { compareLatencies, PLAN_TARGET } from '../lib/chat-figures.js';
import { FLOOR_NAME, writeFileDurably } from '../lib/disk-floor.js';
import { Latencies, rounds } from '../lib/measure.js';
import { defineScenario } from '../lib/scenario.js';
import { SqliteChatDb } from '../lib/sqlite-peer.js';

const SIZE = 10 * 2 ** 20;

export default defineScenario({
  title: 'chat API: upload a 10 MB document durably vs SQLite BLOB vs the disk (write + fsync)',
  durability: 'always',
  async run(ctx) {
    const perRound = ctx.size(10, 3);
    const roundCount = ctx.size(3, 1);
    const warmup = ctx.size(3, 1);
    const data = randomBytes(SIZE);
    let counter = 0;
    const fresh = () => {
      data.writeDoubleLE(++counter, 0);
      return data;
    };

    const chat = await openChatStore({ dir: join(ctx.dir, 'ffcdb'), durability: 'always' });
    const sqlite = new SqliteChatDb(join(ctx.dir, 'sqlite.db'), 'FULL');
    const floorDir = join(ctx.dir, 'floor');
    await mkdir(floorDir);
    const userId = 'usr-0001';
    const sessionId = 'ses-docs';
    const u = await chat.users.create({ userId, displayName: 'Document uploader' });
    sqlite.createUser(userId, u.displayName ?? userId);
    await chat.sessions.create({ userId, sessionId, title: 'Quarterly report review', tags: ['work'] });
    sqlite.createSession({ userId, sessionId, title: 'Quarterly report review', tags: ['work'] });

    const doc = () => ({ sessionId, name: `report-${counter + 1}.pdf`, mediaType: 'application/pdf', metadata: { source: 'web' } });
    const contenders = {
      ours: {
        lat: new Latencies(),
        op: async () => {
          const d = await chat.documents.upload(doc(), fresh());
          if (d.size !== SIZE) throw new Error(`uploaded ${d.size} bytes`);
          return async () => void (await chat.documents.delete(d.documentId));
        },
      },
      sqlite: {
        lat: new Latencies(),
        op: async () => {
          const documentId = `doc-${counter + 1}`;
          const d = sqlite.uploadDocument({ documentId, ...doc() }, fresh());
          if (d.size !== SIZE) throw new Error(`stored ${d.size} bytes`);
          return async () => sqlite.deleteDocument(documentId);
        },
      },
      floor: {
        lat: new Latencies(),
        op: () => writeFileDurably(floorDir, `${counter + 1}.bin`, fresh()),
      },
    };
    type Contender = (typeof contenders)[keyof typeof contenders];
    const measure = async (c: Contender, n: number, record: boolean) => {
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const remove = await c.op();
        if (record) c.lat.recordMs(performance.now() - t0);
        await remove();
      }
    };

    // Same hash on both sides for the same bytes.
    const a = await chat.documents.upload({ ...doc(), name: 'check.pdf' }, data);
    const b = sqlite.uploadDocument({ documentId: 'doc-check', ...doc(), name: 'check.pdf' }, data);
    if (a.sha256 !== b.sha256 || a.size !== b.size) throw new Error('the chat API and SQLite stored different bytes');
    await chat.documents.delete(a.documentId);
    sqlite.deleteDocument('doc-check');

    for (const c of Object.values(contenders)) await measure(c, warmup, false);
    await rounds(
      roundCount,
      Object.values(contenders).map((c) => () => measure(c, perRound, true)),
    );
    sqlite.close();
    await chat.close();

    const r = ctx.results;
    r.params = `${roundCount} × ${perRound} uploads of 10 MiB each per contender, interleaved, new content every op, after ${warmup} warm-up uploads`;
    const s = (k: keyof typeof contenders) => contenders[k].lat.summary();
    compareLatencies(r, { what: 'upload 10 MB', subject: 'ffcdb chat.documents.upload', ours: s('ours'), sqlite: s('sqlite'), targetMs: 100 });
    for (const stat of ['p50', 'mean'] as const) {
      r.compare({
        metric: `upload 10 MB ${stat} vs the disk`,
        kind: 'time',
        unit: 'ms',
        subject: 'ffcdb chat.documents.upload',
        value: s('ours')[stat],
        peers: [{ name: FLOOR_NAME, value: s('floor')[stat], ...(stat === 'p50' ? { goal: { text: 'within 2× of the disk’s write + fsync', atLeast: 1 / 2 } } : {}) }],
      });
    }
    r.compare({
      metric: 'the disk itself, p50',
      kind: 'time',
      unit: 'ms',
      subject: FLOOR_NAME,
      value: s('floor').p50,
      peers: [{ name: PLAN_TARGET, value: 100, target: PLAN_TARGET }],
    });
    r.note('a fresh store (one user, one session); the disk floor is the same as blob-put-10mb measures');
  },
});
