import fs from 'node:fs';
import path from 'node:path';
import fc from '../support/fc-setup.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Layout } from '../../src/backends/flatfile/layout.js';
import { openChatStore } from '../../src/chat/chat-store.js';
import { openStore } from '../../src/engine/open-store.js';
import { assertId } from '../../src/kernel/validation.js';
import { fileNameOf } from '../../src/storage/file-names.js';
import { STREAMS_DIR } from '../../src/storage/store-folder.js';
import { withTempDir } from '../support/temp.js';

/**
 * The one id rule against the file system: ids built from the pieces that
 * break naive paths (`..`, separators, `%2e`, device names, right-to-left
 * marks, emoji, case, trailing dots and spaces, 500-byte runs) stay inside the
 * store, each in a folder of its own (never one that differs only in case from
 * another's), and read back exactly as given after reopening.
 */

const PIECES = ['..', '.', '/', '\\', '%2e', '%2E', '%', '~', 'CON', 'nul', 'Com1', 'LPT9', 'aux', '\u202E', '\u200F', '\u{1F600}', '\u{1F469}\u200D\u{1F4BB}', 'A', 'a', 'Z', 'z', ' ', ':', '|', '*', '?', '"', '<', '>', 'é', 'e\u0301', 'İ', 'ß', '-', '_', '0', '9', 'user', 'Chat'];

function valid(id: string): boolean {
  try {
    assertId(id, 'id');
    return true;
  } catch {
    return false;
  }
}

const piecewise = fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 12 }).map((parts) => parts.join(''));
const earlierForm = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/);
const anyText = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
/** 400 to 512 bytes: past a file name's limit once encoded. */
const long = fc.tuple(fc.constantFrom('x', 'X', 'é', '\u{1F600}', '/', '.'), fc.integer({ min: 100, max: 512 }), piecewise).map(([unit, n, tail]) => {
  let id = unit.repeat(Math.floor(n / Buffer.byteLength(unit)));
  while (Buffer.byteLength(id + tail) > 512) id = id.slice(0, -unit.length);
  return id + tail;
});
const oneId = fc.oneof({ arbitrary: piecewise, weight: 4 }, { arbitrary: earlierForm, weight: 2 }, { arbitrary: anyText, weight: 2 }, { arbitrary: long, weight: 1 }).filter(valid);

/** A few ids, with their case variants (and the variants' escapes) added, all different. */
const idSet = fc.uniqueArray(oneId, { minLength: 1, maxLength: 5 }).map((ids) => {
  const all = new Set<string>();
  for (const id of ids) for (const v of [id, id.toUpperCase(), id.toLowerCase(), id.replaceAll('.', '%2e')]) if (valid(v)) all.add(v);
  return [...all];
});

const test = suite('property: ids and file names');

test('every id gets a folder inside its shard whose name is ASCII, at most 200 bytes, and unequal ignoring case to any other id of a different form', () => {
  const layout = new Layout(path.resolve('/store'));
  fc.assert(
    fc.property(idSet, (ids) => {
      const dirs = new Map<string, string>();
      for (const id of ids) {
        const dir = layout.streamDir(id);
        const rel = path.relative(path.join(layout.root, STREAMS_DIR), dir).split(path.sep);
        assert.is(rel.length, 3, dir);
        const name = rel[2]!;
        assert.match(name, /^[A-Za-z0-9_~%-]+$/);
        assert.ok(Buffer.byteLength(name) <= 200, name);
        assert.ok(name === id || name.startsWith('~'), name);
        const twin = dirs.get(dir.toLowerCase());
        // Only two ids of the earlier form, each its own name, could meet here: the shard keeps them apart but 1 pair in 65,536, and that is refused when read.
        if (twin !== undefined) assert.ok(fileNameOf(twin) === twin && fileNameOf(id) === id, `${JSON.stringify(id)} and ${JSON.stringify(twin)} share ${dir}`);
        dirs.set(dir.toLowerCase(), id);
      }
    }),
    { numRuns: 2000 },
  );
});

test('ids written by the engine stay inside the store, each stream in its own folder, and read back exactly after reopening (flatfile)', async () => {
  await fc.assert(
    fc.asyncProperty(idSet, async (ids) =>
      withTempDir('ids', async (parent) => {
        const dir = path.join(parent, 'store');
        let store = await openStore({ dir, durability: 'none' });
        try {
          for (const [i, id] of ids.entries()) await store.append(id, { id, type: 'id.written', data: { i } });
          await store.close();
          store = await openStore({ dir, create: false });
          const listed = (await store.readAll({ limit: 1000 })).events.map((e) => e.streamId);
          assert.equal(listed, ids);
          for (const [i, id] of ids.entries()) {
            const events = await store.readStream(id);
            assert.equal(events.map((e) => [e.streamId, e.id, e.data]), [[id, id, { i }]]);
          }
        } finally {
          await store.close();
        }
        // Nothing outside the store folder; one stream folder per id, none equal to another ignoring case.
        assert.equal(fs.readdirSync(parent), ['store']);
        const folders = (fs.readdirSync(path.join(dir, STREAMS_DIR), { recursive: true }) as string[]).filter((p) => p.split(path.sep).length === 3);
        assert.is(folders.length, ids.length);
        assert.is(new Set(folders.map((f) => f.toLowerCase())).size, ids.length);
      }),
    ),
    { numRuns: 200 },
  );
});

test('users and sessions of any id round-trip through the chat API: created, listed and read back exactly after reopening', async () => {
  await fc.assert(
    fc.asyncProperty(idSet, idSet, async (userIds, sessionIds) =>
      withTempDir('chat-ids', async (dir) => {
        let chat = await openChatStore({ dir, durability: 'none' });
        try {
          for (const userId of userIds) await chat.users.create({ userId });
          for (const sessionId of sessionIds) await chat.sessions.create({ userId: userIds[0]!, sessionId, title: 'T' });
          await chat.close();
          chat = await openChatStore({ dir, create: false });
          for (const userId of userIds) assert.is((await chat.users.get(userId)).userId, userId);
          const listed = (await chat.sessions.list(userIds[0]!, { limit: 100 })).items.map((s) => s.sessionId);
          assert.equal(listed.sort(), [...sessionIds].sort());
          for (const sessionId of sessionIds) assert.is((await chat.sessions.get(sessionId)).sessionId, sessionId);
        } finally {
          await chat.close();
        }
      }),
    ),
    { numRuns: 25 },
  );
});

test.run();
