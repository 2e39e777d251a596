/** Scratch folders under os.tmpdir(), and their sizes. */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function makeTempDir(prefix: string, parent = tmpdir()): Promise<string> {
  return mkdtemp(join(parent, `${prefix}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

export interface DirSize {
  /** Sum of the files' lengths. */
  bytes: number;
  /** Blocks the file system allocated for them, in bytes. */
  allocated: number;
  files: number;
}

/** Every regular file under `dir`, recursively (symlinks are not followed). */
export async function dirSize(dir: string): Promise<DirSize> {
  const out: DirSize = { bytes: 0, allocated: 0, files: 0 };
  // Entries may come and go while we look (a lock folder, a temporary file): those count 0.
  const gone = (err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  };
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true }).catch((err: unknown) => {
      gone(err);
      return [];
    });
    for (const entry of entries) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.isFile()) {
        const s = await stat(p).catch((err: unknown) => void gone(err));
        if (!s) continue;
        out.bytes += s.size;
        out.allocated += s.blocks * 512;
        out.files++;
      }
    }
  };
  await walk(dir);
  return out;
}

/** Sizes of the given files together; missing files count 0. */
export async function filesSize(paths: readonly string[]): Promise<DirSize> {
  const out: DirSize = { bytes: 0, allocated: 0, files: 0 };
  for (const p of paths) {
    try {
      const s = await stat(p);
      out.bytes += s.size;
      out.allocated += s.blocks * 512;
      out.files++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return out;
}
