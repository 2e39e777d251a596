import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openChatStore } from '../../src/chat/chat-store.js';
import { exportFolder } from '../../src/export/export-store.js';
import { importToFolder } from '../../src/export/import-store.js';
import { exportFiles, seedStore } from '../export/helpers.js';
import { type PathUnderTest, runPowerCuts } from '../support/power-loss-cuts.js';

/**
 * An import into a new folder under power loss at random calls: the store is built beside the target
 * (durability 'none', fsynced on close), its folder fsynced, renamed into place and the parent fsynced.
 * After the cut the target is absent, empty, or a whole store whose export is byte-identical to the
 * imported one; once importToFolder resolved, it is the whole store. (A `.store.partial-…` folder may
 * be left beside it: nothing ever ran to remove it.)
 */
interface ImportState {
  done: boolean;
}

const work = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'ffcdb-power-import-'));
const exported = path.join(work, 'export');
let expected: Map<string, Buffer>;

const importPath: PathUnderTest<ImportState> = {
  name: 'import into a new folder',
  cuts: 40,
  state: () => ({ done: false }),
  async work(root, run, s) {
    await importToFolder(path.join(root, 'store'), exported);
    if (!run.cut) s.done = true;
  },
  abandon: async () => {},
  async check(image, s) {
    const target = path.join(image, 'store');
    const entries = fs.existsSync(target) ? fs.readdirSync(target) : undefined;
    if (entries === undefined || entries.length === 0) return s.done ? [`the import resolved, but ${entries ? 'the target is empty' : 'there is no target'}`] : [];
    const again = path.join(image, 'again');
    try {
      await exportFolder(target, again);
    } catch (err) {
      return [`the target holds ${entries.join(', ')} but is not a whole store: ${String(err)}`];
    }
    const files = exportFiles(again);
    const problems: string[] = [];
    if (JSON.stringify([...files.keys()]) !== JSON.stringify([...expected.keys()])) problems.push(`the target's export has files ${[...files.keys()].join(', ')}`);
    for (const [name, bytes] of expected) if (!files.get(name)?.equals(bytes)) problems.push(`the target's export differs in ${name}`);
    return problems;
  },
};

test('an import into a new folder after power loss at random calls: the target is absent, empty or the whole store; the whole store once the import resolved', async () => {
  try {
    const source = path.join(work, 'source');
    const chat = await openChatStore({ dir: source });
    await seedStore(chat);
    await chat.close();
    await exportFolder(source, exported);
    expected = exportFiles(exported);
    const summary = await runPowerCuts(importPath);
    assert.ok(summary.calls > 30, `${summary.calls} calls`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test.run();
