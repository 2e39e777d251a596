/**
 * The disk's plain durable write: what any store must at least do to make a
 * new file's bytes survive a crash. Writes `data` to a new file, fsyncs it,
 * fsyncs its folder (so the name survives too). The same floor as the
 * blob-put-10mb scenario measures.
 */
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectories } from '../../src/storage/durable-files.js';

export const FLOOR_NAME = 'writeFile + fsync(file) + fsync(folder)';

/** One durable write of `data` to `dir/name`; returns how to delete the file again (untimed by callers). */
export async function writeFileDurably(dir: string, name: string, data: Uint8Array): Promise<() => Promise<void>> {
  const file = join(dir, name);
  const fh = await open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await syncDirectories([dir]);
  return () => unlink(file);
}
