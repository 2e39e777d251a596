import fs from 'node:fs';
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { MemoryBlobStore } from '../../src/blobs/memory-blob-store.js';
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import { EventStore } from '../../src/engine/event-store.js';
import { ErrorCode, isFfcdbError } from '../../src/kernel/errors.js';
import { type ExportProgress, type StoreParts, exportStore } from '../../src/export/export-store.js';
import type { ExportManifest } from '../../src/export/format.js';
import { type ImportProgress, type ImportReport, importExport, importToFolder } from '../../src/export/import-store.js';
import { BACKENDS, type BackendKind, bytesOf, collect, fails } from '../chat/helpers.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { Temp, allEvents, assertSameFiles, emptyParts, openSource, plain, projectionStates, seedStore, withFolderParts } from './helpers.js';

const test = flatfileSuite('export and import: round trips');

/** A store imported from an export, as its engine and blobs and as a chat store. */
interface Imported {
  report: ImportReport;
  parts: StoreParts;
  chat: ChatStore;
  close(): Promise<void>;
}

/**
 * Imports into an empty store on `kind`: a new flatfile folder through
 * importToFolder, or a memory store under a running chat store (whose
 * projections follow the import as it commits).
 */
async function importInto(kind: BackendKind, temp: Temp, from: string, name = 'target'): Promise<Imported> {
  if (kind === 'flatfile') {
    const report = await importToFolder(temp.path(name), from);
    const chat = await openChatStore({ dir: temp.path(name), durability: 'none' });
    const { FileBlobStore } = await import('../../src/blobs/file-blob-store.js');
    const blobs = new FileBlobStore(temp.path(name));
    return {
      report,
      parts: { events: chat.events, blobs },
      chat,
      close: async () => {
        await blobs.close();
        await chat.close();
      },
    };
  }
  const blobs = new MemoryBlobStore();
  const chat = await openChatStore({ backend: new MemoryBackend(), blobs });
  const report = await importExport({ events: chat.events, blobs }, from);
  await chat.users.get('ann', { waitFor: report.headPosition }).catch(() => undefined);
  return { report, parts: { events: chat.events, blobs }, chat, close: () => chat.close() };
}

/** What a chat app reads back: every read of the API over the seeded store, failures as their codes. */
async function apiView(chat: ChatStore): Promise<unknown> {
  const attempt = async (fn: () => Promise<unknown>) => {
    try {
      return plain(await fn());
    } catch (err) {
      if (isFfcdbError(err)) return { error: err.code };
      throw err;
    }
  };
  const first = await attempt(async () => (await chat.messages.list('s1', { limit: 1 })).items[0]?.messageId);
  return {
    users: await Promise.all(['ann', 'bob'].map((id) => attempt(() => chat.users.get(id)))),
    listings: await Promise.all(['ann', 'bob'].map((id) => attempt(() => chat.sessions.list(id, { archived: 'any' })))),
    sessions: await Promise.all(['s1', 's2', 's3'].map((id) => attempt(() => chat.sessions.get(id)))),
    messages: await attempt(() => chat.messages.list('s1', { limit: 100 })),
    newest: await attempt(() => chat.messages.list('s1', { order: 'desc', limit: 2 })),
    history: await attempt(() => chat.messages.history('s1', first as string)),
    documents: await Promise.all([{ sessionId: 's1' }, { sessionId: 's2' }, { userId: 'ann' }].map((o) => attempt(() => chat.documents.list(o)))),
    document: await Promise.all(['d1', 'd2', 'lib1', 'gone'].map((id) => attempt(() => chat.documents.get(id)))),
    bytes: await Promise.all(['d1', 'lib1'].map((id) => attempt(async () => bytesOf(await chat.documents.open(id))))),
    analyses: await attempt(() => chat.documents.analyses('d1')),
    context: await attempt(() => chat.context.get('s1')),
    asOfSnapshot: await attempt(() => chat.context.get('s1', { asOf: { snapshot: 'first' } })),
    asOfVersion: await attempt(() => chat.context.get('s1', { asOf: { version: 1 } })),
    contextHistory: await attempt(() => chat.context.history('s1')),
    snapshots: await attempt(() => chat.context.snapshots('s1')),
    sessionExport: await attempt(() => collect(chat.export('s1', 'jsonl'))),
  };
}

/** A view without the position each read reflects (the export's header line holds it too). */
function withoutReadPositions(view: unknown): Record<string, unknown> {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'position').map(([k, x]) => [k, strip(x)]));
  };
  const out = strip(view) as Record<string, unknown>;
  if (typeof out.sessionExport === 'string') out.sessionExport = out.sessionExport.slice(out.sessionExport.indexOf('\n'));
  return out;
}

function manifestOf(dir: string): ExportManifest {
  return JSON.parse(fs.readFileSync(`${dir}/manifest.json`, 'utf8')) as ExportManifest;
}

async function blobList(parts: StoreParts): Promise<string[]> {
  const out: string[] = [];
  for await (const b of parts.blobs.list()) out.push(`${b.sha256}:${b.size}`);
  return out.sort();
}

for (const from of BACKENDS) {
  for (const to of BACKENDS) {
    test(`a store built through the chat API (${from} to ${to}): export, import into an empty store and re-export give byte-identical files, the same events and the same projections`, async () => {
      const temp = new Temp();
      const source = await openSource(from, temp);
      try {
        await seedStore(source.chat);
        const head = await source.chat.events.headPosition();
        const manifest = await exportStore(source.parts, temp.path('first'));
        assert.equal(manifest, manifestOf(temp.path('first')), 'the manifest returned is the one written');
        assert.equal([manifest.events.count, manifest.headPosition, manifest.events.gaps, manifest.streams.count], [head, head, 0, 6]);
        assert.equal(manifest.blobs.entries.length, 2, 'the session blob (shared by d1 and d2) and the library blob');
        assert.is(manifest.blobs.absent.length, 1, 'the deleted document released its blob');

        const target = await importInto(to, temp, temp.path('first'));
        try {
          assert.equal([target.report.events, target.report.headPosition, target.report.gapEvents, target.report.gapStream], [head, head, 0, undefined]);
          await exportStore(target.parts, temp.path('second'));
          assertSameFiles(temp.path('first'), temp.path('second'));
          assert.equal(plain(await allEvents(target.parts.events)), plain(await allEvents(source.parts.events)), 'every event reads back with every field');
          assert.equal(await projectionStates(target.parts.events), await projectionStates(source.parts.events), 'every projection rebuilds to the same state');
          assert.equal(await apiView(target.chat), await apiView(source.chat), 'every chat read gives the same answer');
          assert.equal(await blobList(target.parts), await blobList(source.parts), 'the same blobs');
        } finally {
          await target.close();
        }
      } finally {
        await source.close();
        temp.cleanup();
      }
    });
  }
}

for (const kind of BACKENDS) {
  test(`a store with a purged session (${kind}): positions are kept across the gaps, which are filled and purged in a tombstone stream; re-export is byte-identical`, async () => {
    const temp = new Temp();
    const source = await openSource(kind, temp);
    try {
      await seedStore(source.chat);
      await source.chat.sessions.delete('s2', { purge: true });
      await source.chat.messages.add('s1', { role: 'user', content: 'after the purge' });
      const head = await source.chat.events.headPosition();
      const manifest = await exportStore(source.parts, temp.path('first'));
      assert.is(manifest.events.gaps, 6, "s2's five events and its deletion");
      assert.is(manifest.headPosition, head);
      assert.not.ok(manifest.streams.entries.some((s) => s.stream === 's-s2'));

      const target = await importInto(kind, temp, temp.path('first'));
      try {
        assert.equal([target.report.gapStream, target.report.gapEvents, target.report.headPosition], ['ffcdb-import-gaps', 6, head]);
        assert.equal(
          (await allEvents(target.parts.events)).map((e) => e.position),
          (await allEvents(source.parts.events)).map((e) => e.position),
          'every event at its own position',
        );
        await exportStore(target.parts, temp.path('second'));
        assertSameFiles(temp.path('first'), temp.path('second'));
        assert.equal(await projectionStates(target.parts.events), await projectionStates(source.parts.events));
        assert.equal(await apiView(target.chat), await apiView(source.chat));
        assert.is(await target.parts.events.streamVersion('ffcdb-import-gaps'), 6, 'the gap stream is a tombstone');
        await fails(target.parts.events.append('ffcdb-import-gaps', { type: 'x', data: null }), ErrorCode.CONFLICT);
        assert.equal(await target.parts.events.readStream('ffcdb-import-gaps'), []);
      } finally {
        await target.close();
      }
    } finally {
      await source.close();
      temp.cleanup();
    }
  });

  test(`one session's export (${kind}): its stream alone at its own positions and the blobs its documents name; importing and re-exporting it is byte-identical`, async () => {
    const temp = new Temp();
    const source = await openSource(kind, temp);
    try {
      await seedStore(source.chat);
      const manifest = await exportStore(source.parts, temp.path('first'), { sessionId: 's1' });
      const stream = await source.chat.events.readStream('s-s1');
      assert.equal(manifest.scope, { kind: 'session', sessionId: 's1', stream: 's-s1' });
      assert.equal(manifest.streams.entries.map((s) => [s.stream, s.events]), [['s-s1', stream.length]]);
      assert.is(manifest.headPosition, stream.at(-1)!.position);
      assert.is(manifest.blobs.entries.length, 1, "d1's bytes; the library document's are the user's");
      assert.is(manifest.blobs.absent.length, 1);

      const target = await importInto(kind, temp, temp.path('first'));
      try {
        assert.equal(plain(await target.parts.events.readStream('s-s1')), plain(stream), 'the same events at the same positions');
        assert.equal(await allEvents(target.parts.events).then((all) => all.length), stream.length, 'nothing else');
        // Reads carry the position the projections reflect, which is the session's last here and the store's head there.
        const view = withoutReadPositions(await apiView(target.chat));
        const original = withoutReadPositions(await apiView(source.chat));
        for (const key of ['messages', 'history', 'analyses', 'context', 'asOfSnapshot', 'contextHistory', 'snapshots', 'sessionExport']) {
          assert.equal(view[key], original[key], `${key} reads the same`);
        }
        assert.equal((view.sessions as unknown[])[0], (original.sessions as unknown[])[0]);
        assert.equal((view.bytes as unknown[])[0], (original.bytes as unknown[])[0], "d1's bytes came along");
        assert.equal(view.users, [{ error: 'NOT_FOUND' }, { error: 'NOT_FOUND' }], 'user-level events are not part of a session export');
        await exportStore(target.parts, temp.path('second'), { sessionId: 's1' });
        assertSameFiles(temp.path('first'), temp.path('second'));
      } finally {
        await target.close();
      }
      await fails(exportStore(source.parts, temp.path('none'), { sessionId: 'nope' }), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(exportStore(source.parts, temp.path('none'), { sessionId: 'a\nb' }), ErrorCode.INVALID_ID, 'sessionId');
      assert.not.ok(fs.existsSync(temp.path('none')));
    } finally {
      await source.close();
      temp.cleanup();
    }
  });

  test(`bytes and tag-like objects in event data and metadata round-trip exactly (${kind})`, async () => {
    const temp = new Temp();
    const source = await openSource(kind, temp);
    try {
      await seedStore(source.chat);
      await exportStore(source.parts, temp.path('first'));
      const text = fs.readFileSync(temp.path('first/events.jsonl'), 'utf8');
      assert.match(text, '"bytes":{"$base64":"AQID"}');
      assert.match(text, '"tag":{"$object":{"$base64":"AQID"}}', 'an object that looks like bytes is escaped');
      assert.match(text, '"wrapped":{"$object":{"$object":{"x":1}}}');
      assert.match(text, '"empty":{"$base64":""}');
      const target = await importInto(kind, temp, temp.path('first'));
      try {
        const [raw, second] = await target.parts.events.readStream('raw-1');
        const data = raw!.data as Record<string, unknown>;
        assert.instance(data.bytes, Uint8Array);
        assert.equal([...(data.bytes as Uint8Array)], [1, 2, 3]);
        assert.instance(data.empty, Uint8Array);
        assert.is((data.empty as Uint8Array).length, 0);
        assert.equal(data.tag, { $base64: 'AQID' });
        assert.equal(data.wrapped, { $object: { x: 1 } });
        assert.instance(raw!.metadata.blob, Uint8Array);
        assert.equal(second!.data, [null, true, -1.25e-7, 2 ** 53 - 1, '\u0000\n"\\', { '': {}, '10': 1, '9': 2 }]);
        assert.is(second!.schemaVersion, 3);
      } finally {
        await target.close();
      }
    } finally {
      await source.close();
      temp.cleanup();
    }
  });
}

test('an empty store exports to an empty events.jsonl, and imports and re-exports the same', async () => {
  const temp = new Temp();
  try {
    const source = await emptyParts('memory', temp, 'source');
    const manifest = await exportStore(source, temp.path('first'));
    await source.close();
    assert.equal([manifest.events.count, manifest.headPosition, manifest.streams.count, manifest.blobs.count], [0, 0, 0, 0]);
    assert.is(fs.readFileSync(temp.path('first/events.jsonl')).length, 0);
    const report = await importToFolder(temp.path('target'), temp.path('first'));
    assert.is(report.headPosition, 0);
    await withFolderParts(temp.path('target'), (parts) => exportStore(parts, temp.path('second')));
    assertSameFiles(temp.path('first'), temp.path('second'));
  } finally {
    temp.cleanup();
  }
});

test('a store of many events streams through: long runs of one stream are split into appends of at most 10,000, progress is reported, and the round trip is byte-identical', async () => {
  const temp = new Temp();
  try {
    const events = await EventStore.open(new MemoryBackend());
    const blobs = new MemoryBlobStore();
    for (let i = 0; i < 4; i++) await events.append('long', Array.from({ length: 6000 }, (_, j) => ({ type: 'n', data: { i, j } })));
    for (let i = 0; i < 3000; i++) await events.append(`s${i % 7}`, { type: 'n', data: i, metadata: { actor: `a${i % 3}` } });
    const exportProgress: ExportProgress[] = [];
    await exportStore({ events, blobs }, temp.path('first'), { onProgress: (p) => exportProgress.push(p) });
    assert.equal(exportProgress.at(-1), { phase: 'events', done: 27_000, total: 27_000 });
    assert.ok(exportProgress.length >= 5, 'reported along the way');

    const target = await emptyParts('flatfile', temp, 'target');
    const importProgress: ImportProgress[] = [];
    const report = await importExport(target, temp.path('first'), { onProgress: (p) => importProgress.push(p) });
    assert.is(report.headPosition, 27_000);
    assert.equal([...new Set(importProgress.map((p) => p.phase))], ['verify', 'events']);
    const done = importProgress.filter((p) => p.phase === 'events').map((p) => p.done);
    assert.ok(done.every((d, i) => i === 0 || d >= done[i - 1]!), 'progress only moves forward');
    assert.equal(
      (await target.events.readStream('long')).map((e) => e.position),
      Array.from({ length: 24_000 }, (_, i) => i + 1),
    );
    await exportStore(target, temp.path('second'));
    assertSameFiles(temp.path('first'), temp.path('second'));
    await target.close();
    await events.close();
  } finally {
    temp.cleanup();
  }
});

test.run();
