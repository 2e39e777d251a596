import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import * as assert from 'uvu/assert';
import { ErrorCode, type FfcdbError } from '../../src/kernel/errors.js';
import { exportFolder, exportStore } from '../../src/export/export-store.js';
import type { ExportManifest } from '../../src/export/format.js';
import { importExport, importToFolder, verifyExport } from '../../src/export/import-store.js';
import { fails } from '../chat/helpers.js';
import { flatfileSuite } from '../flatfile/unit-helpers.js';
import { Temp, emptyParts, openSource, seedStore, withFolderParts } from './helpers.js';

const test = flatfileSuite('export and import: refusals');
const temp = new Temp();
/** A good export of the seeded store, made once; each test damages a copy. */
const GOOD = temp.path('good');
/** A good export of session s1 of the same store. */
const SESSION = temp.path('good-session');
let manifest: ExportManifest;

test.before(async () => {
  const source = await openSource('flatfile', temp);
  try {
    await seedStore(source.chat);
    manifest = await exportStore(source.parts, GOOD);
    await exportStore(source.parts, SESSION, { sessionId: 's1' });
  } finally {
    await source.close();
  }
});

test.after(() => temp.cleanup());

let copies = 0;

/** A copy of the good export (or of `from`), changed by `damage`. */
function damaged(damage: (dir: string) => void, from = GOOD): string {
  const dir = temp.path(`damaged-${++copies}`);
  fs.cpSync(from, dir, { recursive: true });
  damage(dir);
  return dir;
}

function lines(dir: string): string[] {
  return fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n').slice(0, -1);
}

function writeLines(dir: string, list: string[]): void {
  fs.writeFileSync(path.join(dir, 'events.jsonl'), list.map((l) => `${l}\n`).join(''));
}

/** A line whose body was changed, given the crc32 its new body has (so only the hashes can tell). */
function withCrc(line: string): string {
  const body = Buffer.from(line.slice(0, -20));
  return `${body},"crc32":"${crc32(body).toString(16).padStart(8, '0')}"}`;
}

/** The manifest as a test damages it: any version number may be written in. */
type EditableManifest = Omit<ExportManifest, 'version'> & { version: number };

function editManifest(dir: string, edit: (m: EditableManifest) => void): void {
  const file = path.join(dir, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as EditableManifest;
  edit(m);
  fs.writeFileSync(file, JSON.stringify(m, null, 2));
}

/**
 * The export is refused with `code` by verifyExport, by importExport into an
 * empty memory store (which stays empty: no event, no blob) and by
 * importToFolder (which leaves no folder behind); returns the error.
 */
async function refused(dir: string, code: ErrorCode): Promise<FfcdbError> {
  const err = await fails(verifyExport(dir), code);
  const target = await emptyParts('memory', temp, 'unused');
  try {
    const again = await fails(importExport(target, dir), code);
    assert.equal(again.details, err.details, 'the same finding');
    assert.is(await target.events.headPosition(), 0, 'no event was written');
    for await (const b of target.blobs.list()) assert.unreachable(`blob ${b.sha256} was left behind`);
  } finally {
    await target.close();
  }
  const folder = temp.path(`target-${copies}`);
  await fails(importToFolder(folder, dir), code);
  assert.not.ok(fs.existsSync(folder), 'the target folder was not created');
  assert.equal(fs.readdirSync(temp.root).filter((n) => n.includes('.partial-')), [], 'no half-built folder is left');
  return err;
}

test('the good export verifies', async () => {
  assert.equal(await verifyExport(GOOD), manifest);
});

test('a changed byte in events.jsonl is CORRUPT naming its line (its crc32 fails)', async () => {
  const dir = damaged((d) => {
    const list = lines(d);
    list[6] = list[6]!.replace('"timestamp":1', '"timestamp":2');
    writeLines(d, list);
  });
  const err = await refused(dir, ErrorCode.CORRUPT);
  assert.equal(err.details, { file: 'events.jsonl', line: 7 });
  assert.match(err.message, 'events.jsonl line 7 fails its crc32');
});

test('a changed line with a matching crc32 is still refused: the sha256 of the file and of its stream do not match the manifest', async () => {
  const dir = damaged((d) => {
    const list = lines(d);
    list[3] = withCrc(list[3]!.replace('Trip to Lisbon', 'Trip to Lisbom'));
    writeLines(d, list);
  });
  const err = await refused(dir, ErrorCode.CORRUPT);
  assert.equal([err.details.file, err.details.field], ['manifest.json', 'events.sha256']);
});

test('a line whose data is nested 100,000 levels deep (crc32 right) is CORRUPT naming the line, not a stack overflow', async () => {
  const dir = damaged((d) => {
    const list = lines(d);
    list[2] = withCrc(list[2]!.replace(/"data":.*,"crc32"/, `"data":${'['.repeat(100_000)}${']'.repeat(100_000)},"crc32"`));
    writeLines(d, list);
  });
  const err = await refused(dir, ErrorCode.CORRUPT);
  assert.equal(err.details, { file: 'events.jsonl', line: 3 });
});

test('a line that is not in canonical form (spacing, here) is CORRUPT naming the line', async () => {
  const dir = damaged((d) => {
    const list = lines(d);
    list[2] = withCrc(list[2]!.replace('"version":', '"version": '));
    writeLines(d, list);
  });
  const err = await refused(dir, ErrorCode.CORRUPT);
  assert.equal(err.details, { file: 'events.jsonl', line: 3 });
  assert.match(err.message, 'canonical');
});

test('a missing line is CORRUPT at the next line of its stream (a version gap)', async () => {
  const all = lines(GOOD);
  const index = all.findIndex((l) => l.includes('"stream":"s-s1","version":2,'));
  const next = all.findIndex((l) => l.includes('"stream":"s-s1","version":3,'));
  const dir = damaged((d) => writeLines(d, all.filter((_, i) => i !== index)));
  const err = await refused(dir, ErrorCode.CORRUPT);
  assert.equal(err.details, { file: 'events.jsonl', line: next });
  assert.match(err.message, 'has version 3 of stream s-s1; the next is 2');
});

test('a file cut short in the middle of a line is CORRUPT naming that line', async () => {
  const dir = damaged((d) => {
    const file = path.join(d, 'events.jsonl');
    fs.truncateSync(file, fs.statSync(file).size - 30);
  });
  const err = await refused(dir, ErrorCode.CORRUPT);
  assert.equal(err.details, { file: 'events.jsonl', line: manifest.events.count });
  assert.match(err.message, 'cut short');
});

test('a missing blob, a blob with a changed byte and a file the manifest does not list are CORRUPT naming the file', async () => {
  const blob = manifest.blobs.entries[0]!.sha256;
  const missing = await refused(damaged((d) => fs.rmSync(path.join(d, 'blobs', blob))), ErrorCode.CORRUPT);
  assert.equal(missing.details, { file: `blobs/${blob}`, sha256: blob });
  assert.match(missing.message, 'is missing');
  const changed = await refused(
    damaged((d) => {
      const file = path.join(d, 'blobs', blob);
      const bytes = fs.readFileSync(file);
      bytes[0] = bytes[0]! ^ 1;
      fs.writeFileSync(file, bytes);
    }),
    ErrorCode.CORRUPT,
  );
  assert.match(changed.message, 'holds bytes hashing to');
  const extra = await refused(damaged((d) => fs.writeFileSync(path.join(d, 'blobs', 'stray'), 'x')), ErrorCode.CORRUPT);
  assert.equal(extra.details, { file: 'blobs/stray' });
});

test('a wrong count in the manifest is CORRUPT naming the field', async () => {
  const events = await refused(
    damaged((d) => editManifest(d, (m) => (m.events.count += 1))),
    ErrorCode.CORRUPT,
  );
  assert.is(events.details.field, 'events.count');
  const perStream = await refused(
    damaged((d) =>
      editManifest(d, (m) => {
        m.streams.entries[1]!.events += 1;
        m.streams.entries[2]!.events -= 1;
      }),
    ),
    ErrorCode.CORRUPT,
  );
  assert.match(String(perStream.details.field), /^streams\.entries\[\d\]\.events$/);
  const blobs = await refused(
    damaged((d) => editManifest(d, (m) => (m.blobs.count = 1))),
    ErrorCode.CORRUPT,
  );
  assert.is(blobs.details.field, 'blobs.count');
  const size = await refused(
    damaged((d) =>
      editManifest(d, (m) => {
        m.blobs.entries[0]!.size += 1;
        m.blobs.bytes += 1;
      }),
    ),
    ErrorCode.CORRUPT,
  );
  assert.match(size.message, 'holds');
  const unnamed = await refused(
    damaged((d) => editManifest(d, (m) => m.blobs.absent.push('f'.repeat(64)))),
    ErrorCode.CORRUPT,
  );
  assert.match(unnamed.message, 'which no document.uploaded event names');
});

test('a manifest of another format version is UNSUPPORTED_FORMAT; none at all is NOT_FOUND; one that is not JSON is CORRUPT', async () => {
  await refused(damaged((d) => editManifest(d, (m) => (m.version = 2))), ErrorCode.UNSUPPORTED_FORMAT);
  await refused(damaged((d) => fs.rmSync(path.join(d, 'manifest.json'))), ErrorCode.NOT_FOUND);
  await refused(damaged((d) => fs.writeFileSync(path.join(d, 'manifest.json'), '{"format":')), ErrorCode.CORRUPT);
});

test('a crafted headPosition of 2^53 - 1 with events.gaps to match is CORRUPT before anything is written (the import would fill placeholders without end)', async () => {
  const dir = damaged((d) =>
    editManifest(d, (m) => {
      m.headPosition = Number.MAX_SAFE_INTEGER;
      m.events.gaps = m.headPosition - m.events.count;
    }),
  );
  const err = await refused(dir, ErrorCode.CORRUPT);
  assert.is(err.details.field, 'events.gaps');
  assert.is(err.details.limit, 2 ** 24);
  assert.match(err.message, 'more than the 16777216 gap positions an import fills');
});

test('the gaps an import fills are capped by maxGaps: an export with 3 trailing gaps is refused with maxGaps 2 and imported with 3', async () => {
  const dir = damaged((d) =>
    editManifest(d, (m) => {
      m.headPosition += 3;
      m.events.gaps += 3;
    }),
  );
  const target = temp.path('three-gaps');
  const err = await fails(importToFolder(target, dir, { maxGaps: 2 }), ErrorCode.CORRUPT, 'events.gaps');
  assert.is(err.details.limit, 2);
  assert.not.ok(fs.existsSync(target));
  const report = await importToFolder(target, dir, { maxGaps: 3 });
  assert.equal([report.headPosition, report.gapEvents], [manifest.headPosition + 3, 3]);
  await fails(verifyExport(dir, { maxGaps: -1 }), ErrorCode.INVALID_ARGUMENT, 'maxGaps');
});

test('a session export whose headPosition is past its last line is CORRUPT (a session export ends at its last event)', async () => {
  const dir = damaged(
    (d) =>
      editManifest(d, (m) => {
        m.headPosition += 1;
        m.events.gaps += 1;
      }),
    SESSION,
  );
  const err = await refused(dir, ErrorCode.CORRUPT);
  assert.is(err.details.field, 'headPosition');
});

test('a manifest.json larger than 256 MiB is CORRUPT, refused by its size before it is read', async () => {
  const dir = damaged((d) => fs.truncateSync(path.join(d, 'manifest.json'), 256 * 2 ** 20 + 1));
  const err = await refused(dir, ErrorCode.CORRUPT);
  assert.equal(err.details, { file: 'manifest.json', bytes: 256 * 2 ** 20 + 1, limit: 256 * 2 ** 20 });
  assert.match(err.message, 'a manifest is at most');
});

test('a symlinked manifest.json, events.jsonl or blobs/ is CORRUPT, as a symlinked blob file is, even when it points at good files', async () => {
  const elsewhere = temp.path('elsewhere');
  fs.cpSync(GOOD, elsewhere, { recursive: true });
  for (const name of ['manifest.json', 'events.jsonl', 'blobs']) {
    const dir = damaged((d) => {
      fs.rmSync(path.join(d, name), { recursive: true });
      fs.symlinkSync(path.join(elsewhere, name), path.join(d, name));
    });
    const err = await refused(dir, ErrorCode.CORRUPT);
    assert.equal(err.details, { file: name }, name);
    assert.match(err.message, name === 'blobs' ? 'is not a folder (symlinks' : 'is not a regular file (symlinks');
  }
  const blob = manifest.blobs.entries[0]!.sha256;
  const linked = await refused(
    damaged((d) => {
      fs.rmSync(path.join(d, 'blobs', blob));
      fs.symlinkSync(path.join(elsewhere, 'blobs', blob), path.join(d, 'blobs', blob));
    }),
    ErrorCode.CORRUPT,
  );
  assert.equal(linked.details, { file: `blobs/${blob}`, sha256: blob });
});

test('an aborted signal stops an import while it fills gaps: it rejects with the reason and importToFolder leaves no folder', async () => {
  const dir = damaged((d) =>
    editManifest(d, (m) => {
      m.headPosition += 1_000_000;
      m.events.gaps += 1_000_000;
    }),
  );
  const target = temp.path('aborted');
  const controller = new AbortController();
  const reason = new Error('stop here');
  let events = 0;
  const outcome = await importToFolder(target, dir, {
    signal: controller.signal,
    onProgress: (p) => {
      if (p.phase === 'events' && ++events === 1) controller.abort(reason);
    },
  }).then(
    () => 'resolved',
    (err: unknown) => err,
  );
  assert.is(outcome, reason);
  assert.not.ok(fs.existsSync(target));
  assert.equal(fs.readdirSync(temp.root).filter((n) => n.includes('.partial-')), [], 'no half-built folder is left');
  const early = new Error('never started');
  assert.is(await verifyExport(dir, { signal: AbortSignal.abort(early) }).catch((err: unknown) => err), early, 'an already aborted signal stops it at once');
});

test('events.jsonl changed after it was verified is caught while importing: CORRUPT, and importToFolder leaves nothing', async () => {
  const dir = damaged(() => undefined);
  const target = temp.path('changed-meanwhile');
  const err = await fails(
    importToFolder(target, dir, {
      onProgress: (p) => {
        if (p.phase !== 'blobs') return;
        const list = lines(dir);
        list[3] = withCrc(list[3]!.replace('Trip to Lisbon', 'Trip to Lisbom'));
        writeLines(dir, list);
      },
    }),
    ErrorCode.CORRUPT,
  );
  assert.match(err.message, 'the file changed during the import');
  assert.not.ok(fs.existsSync(target));
});

test('importing into a store that holds events or blobs is refused with CONFLICT and changes nothing', async () => {
  const withEvents = await emptyParts('memory', temp, 'unused');
  await withEvents.events.append('x', { type: 't', data: 1 });
  const err = await fails(importExport(withEvents, GOOD), ErrorCode.CONFLICT);
  assert.match(err.message, 'not empty');
  assert.is(await withEvents.events.headPosition(), 1);
  await withEvents.close();

  const withBlobs = await emptyParts('flatfile', temp, 'blobs-only');
  await withBlobs.blobs.put(Buffer.from('already here'));
  await fails(importExport(withBlobs, GOOD), ErrorCode.CONFLICT);
  assert.is(await withBlobs.events.headPosition(), 0);
  await withBlobs.close();
});

test('importToFolder refuses a folder that holds a store or anything else (CONFLICT) and leaves it as it was; an empty folder is fine', async () => {
  const store = temp.path('existing-store');
  await importToFolder(store, GOOD);
  const err = await fails(importToFolder(store, GOOD), ErrorCode.CONFLICT);
  assert.match(err.message, 'holds a store');
  await withFolderParts(store, async (parts) => assert.is(await parts.events.headPosition(), manifest.headPosition));

  const other = temp.path('other-files');
  fs.mkdirSync(other);
  fs.writeFileSync(path.join(other, 'notes.txt'), 'mine');
  await fails(importToFolder(other, GOOD), ErrorCode.CONFLICT);
  assert.equal(fs.readdirSync(other), ['notes.txt']);

  const empty = temp.path('empty-folder');
  fs.mkdirSync(empty);
  assert.is((await importToFolder(empty, GOOD)).headPosition, manifest.headPosition);
});

test('exporting into a folder that is not empty is refused with CONFLICT and writes nothing there', async () => {
  const out = temp.path('occupied');
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(out, 'keep.txt'), 'mine');
  const source = await emptyParts('memory', temp, 'unused');
  try {
    await fails(exportStore(source, out), ErrorCode.CONFLICT, 'outDir');
    await fails(exportStore(source, GOOD), ErrorCode.CONFLICT, 'outDir');
  } finally {
    await source.close();
  }
  assert.equal(fs.readdirSync(out), ['keep.txt']);
});

test('exportFolder refuses a folder that holds no store with NOT_FOUND, creating nothing there nor at the target', async () => {
  const empty = temp.path('no-store');
  fs.mkdirSync(empty);
  const out = temp.path('never-exported');
  const err = await fails(exportFolder(empty, out), ErrorCode.NOT_FOUND);
  assert.is(err.details.dir, empty);
  assert.equal(fs.readdirSync(empty), []);
  assert.not.ok(fs.existsSync(out));
});

test.run();
