import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Runs fn with a fresh temporary folder, removed afterwards whatever happens. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ffcdb-prop-${prefix}-`));
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Every regular file under dir, recursively, as absolute paths. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/**
 * The files and folders of a data folder, held in memory, to put a working
 * copy back exactly as it was. Cheaper than removing and copying the whole
 * folder again: only what differs is rewritten, and what was added is removed.
 */
export class FolderSnapshot {
  readonly #files = new Map<string, Buffer>();
  readonly #dirs = new Set<string>();

  constructor(dir: string) {
    const walk = (rel: string): void => {
      for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
        const r = path.join(rel, e.name);
        if (e.isDirectory()) {
          this.#dirs.add(r);
          walk(r);
        } else if (e.isFile()) {
          this.#files.set(r, fs.readFileSync(path.join(dir, r)));
        } else {
          throw new Error(`unexpected entry ${r} in ${dir}`);
        }
      }
    };
    walk('');
  }

  /** Makes `target` hold exactly the snapshot: same folders, same files, same bytes. */
  restore(target: string): void {
    if (!fs.existsSync(target)) fs.mkdirSync(target, { recursive: true });
    const prune = (rel: string): void => {
      for (const e of fs.readdirSync(path.join(target, rel), { withFileTypes: true })) {
        const r = path.join(rel, e.name);
        if (e.isDirectory() && this.#dirs.has(r)) prune(r);
        else if (!(e.isFile() && this.#files.has(r))) fs.rmSync(path.join(target, r), { recursive: true, force: true });
      }
    };
    prune('');
    for (const d of [...this.#dirs].sort()) fs.mkdirSync(path.join(target, d), { recursive: true });
    for (const [r, bytes] of this.#files) {
      const p = path.join(target, r);
      let same = false;
      try {
        same = fs.readFileSync(p).equals(bytes);
      } catch {
        same = false;
      }
      if (!same) fs.writeFileSync(p, bytes);
    }
  }
}
