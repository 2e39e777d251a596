/**
 * What the read-only tests check a store folder with (not a test file itself):
 * a fingerprint of everything in it, and the two places a store must still
 * open read-only: a read-only mount and a full disk.
 *
 * Both need mount(8), so root: as root, permission bits do not stop writes,
 * and a read-only mount (EROFS for every write, root's too) is the proof that
 * nothing is even tried. Elsewhere `readOnlyMount` falls back to taking the
 * write bits away (which stops a non-root process), and `fullDisk` reports why
 * it cannot run; a test then says so and checks the fingerprint only.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Every entry under `dir` (itself included): its path, type, mode, size, modification and change times,
 * and the sha256 of a file's bytes. Reading a file leaves it as it was; creating, writing, truncating,
 * renaming, removing or touching anything changes it.
 */
export function fingerprint(dir: string): string {
  const lines: string[] = [];
  const visit = (p: string) => {
    const st = fs.lstatSync(p);
    const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    const hash = st.isFile() ? createHash('sha256').update(fs.readFileSync(p)).digest('hex') : '';
    lines.push(`${path.relative(dir, p) || '.'} ${kind} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${st.ctimeMs} ${hash}`);
    if (st.isDirectory()) for (const name of fs.readdirSync(p).sort()) visit(path.join(p, name));
  };
  visit(dir);
  return lines.join('\n');
}

const isRoot = () => process.getuid?.() === 0;

/** mount(8) or umount(8), quietly: a failure throws with what the command printed. */
function system(command: 'mount' | 'umount', ...args: string[]): void {
  execFileSync(command, args, { stdio: 'pipe' });
}

const mount = (...args: string[]) => system('mount', ...args);
const umount = (dir: string) => system('umount', dir);

/**
 * Makes `dir` unwritable until the returned function is called: a read-only bind mount as root, the
 * write bits taken away otherwise. A string says why neither is possible here.
 */
export function readOnlyMount(dir: string): { how: string; undo: () => void } | string {
  if (!isRoot()) {
    const modes = new Map<string, number>();
    const walk = (p: string) => {
      const st = fs.lstatSync(p);
      modes.set(p, st.mode & 0o7777);
      if (st.isDirectory()) for (const name of fs.readdirSync(p)) walk(path.join(p, name));
    };
    walk(dir);
    for (const [p, mode] of modes) fs.chmodSync(p, mode & ~0o222);
    const undo = () => {
      for (const [p, mode] of modes) fs.chmodSync(p, mode);
    };
    return { how: 'write bits removed (not root)', undo };
  }
  try {
    mount('--bind', dir, dir);
  } catch (err) {
    return `mount is not permitted here (${(err as Error).message.split('\n')[0]})`;
  }
  try {
    mount('-o', 'remount,bind,ro', dir);
  } catch (err) {
    umount(dir);
    return `a read-only remount is not permitted here (${(err as Error).message.split('\n')[0]})`;
  }
  return { how: 'read-only bind mount', undo: () => umount(dir) };
}

/** A small file system of its own (tmpfs of `bytes`), mounted on a new temporary folder; a string says why not. */
export function smallDisk(bytes: number): { dir: string; fill(): void; release(): void } | string {
  if (!isRoot()) return 'mounting a small tmpfs needs root';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-full-disk-'));
  try {
    mount('-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    return `mount is not permitted here (${(err as Error).message.split('\n')[0]})`;
  }
  return {
    dir,
    /** Writes a filler file until the disk is full (ENOSPC), so the next write of anyone fails. */
    fill() {
      const fd = fs.openSync(path.join(dir, 'filler'), 'w');
      const chunk = Buffer.alloc(64 * 1024, 1);
      try {
        for (;;) fs.writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        fs.closeSync(fd);
      }
      // What a page of the last chunk left: filled byte by byte.
      const tail = fs.openSync(path.join(dir, 'filler-tail'), 'w');
      try {
        for (;;) fs.writeSync(tail, Buffer.alloc(1, 1));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        fs.closeSync(tail);
      }
    },
    release() {
      umount(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
