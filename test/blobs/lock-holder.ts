/**
 * A child process for the cross-process lock tests (not a test file):
 *   lock-holder.ts <store folder> <log file> <hold ms | "forever">
 * Takes the blob lock, appends `child-start` to the log, prints `locked`,
 * holds the lock, appends `child-end` and exits; with "forever" it holds the
 * lock until it is killed.
 */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileBlobStore } from '../../src/blobs/file-blob-store.js';

const [dir, log, hold] = process.argv.slice(2) as [string, string, string];
const store = new FileBlobStore(dir, { lockStaleMs: 2000 });
await store.withLock(async () => {
  fs.appendFileSync(log, 'child-start\n');
  process.stdout.write('locked\n');
  if (hold === 'forever') await new Promise(() => setInterval(() => undefined, 1000));
  await sleep(Number(hold));
  fs.appendFileSync(log, 'child-end\n');
});
await store.close();
