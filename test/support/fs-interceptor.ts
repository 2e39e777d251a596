/**
 * A test harness that sees (and can fail) every file-system call the process makes through `node:fs`:
 * the sync functions, the callback functions (which `fs.createReadStream`/`createWriteStream` use too),
 * `fs.promises` and the methods of a `FileHandle`. It patches the shared `fs` objects in place and calls
 * `syncBuiltinESMExports()`, so named imports see the wrappers too. Not seen: calls made by native code,
 * by worker threads, and by libraries that copied `fs` functions when they loaded (graceful-fs, which
 * proper-lockfile uses for the writer lock).
 *
 * A hook runs before each call with what the call touches (a path, or the path an fd was opened on) and
 * the source line in `src/` that made it. It may return:
 * - `{ fail: code }`: the call fails with a system error of that code (EIO, ENOSPC, EACCES, EINTR...)
 *   without running (a close runs, then fails: the descriptor is released, as close(2) does);
 * - `{ shortWrite: n }` (writes only): the call writes only its first n bytes and reports n;
 * - nothing: the call runs.
 * An `after` hook sees each call that ran, with its result, so that a model of the disk can follow it
 * (the power-loss simulation).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';

export type FsApi = 'sync' | 'callback' | 'promise' | 'handle';

export interface FsCall {
  api: FsApi;
  /** The function's name without `Sync` ('open', 'write', 'fdatasync', 'rename'...). */
  name: string;
  /** The path the call touches: its first path argument, or the path its fd or handle was opened on. */
  path: string | undefined;
  /** A rename's or link's second path. */
  dest?: string;
  fd?: number;
  /** The FileHandle a 'handle' call was made on (for a model that follows each open file's position). */
  handle?: object;
  args: unknown[];
  /** `file:line` in src/ of the innermost frame there, or undefined when no frame is in src/. */
  site: string | undefined;
  /** Every src/ frame, innermost first (`site` and its callers: a shared helper's callers tell calls apart). */
  sites: string[];
}

export type FsVerdict = { fail: string } | { shortWrite: number } | undefined;

export interface FsHooks {
  before?(call: FsCall): FsVerdict;
  after?(call: FsCall, result: unknown): void;
}

/** A failed close still releases the descriptor (close(2) on Linux, whatever it reports): so does a simulated one. */
function closeAnyway(close: () => unknown): void {
  try {
    close();
  } catch {
    // Reported as the simulated error.
  }
}

/** Classes and helpers on `fs` that are not calls on the disk. */
const NOT_CALLS = new Set(['ReadStream', 'WriteStream', 'FileReadStream', 'FileWriteStream', 'Stats', 'Dirent', 'Dir', 'StatsFs', 'createReadStream', 'createWriteStream', 'watch', 'watchFile', 'unwatchFile', '_toUnixTimestamp']);
const PATH_ARGS_2 = new Set(['rename', 'link', 'symlink', 'copyFile', 'cp']);
const WRITES = new Set(['write', 'writev']);

const SRC = `${path.sep}src${path.sep}`;
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

function srcFrames(stack: string | undefined): string[] {
  const frames: string[] = [];
  for (const line of (stack ?? '').split('\n').slice(2)) {
    const at = line.indexOf(SRC);
    if (at < 0 || line.includes('node_modules')) continue;
    const m = /\(?(?:file:\/\/)?([^()\s]+):(\d+):\d+\)?\s*$/.exec(line.trim());
    if (m) frames.push(`${path.relative(REPO, m[1]!)}:${m[2]}`);
  }
  return frames;
}

/** An error holding the stack of a call, deep enough to reach past helpers to their callers (V8 formats it when `stack` is first read). */
function errorHere(): Error {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  try {
    return new Error();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function systemError(code: string, call: FsCall): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated failure, ${call.name} '${call.path ?? call.fd ?? ''}'`), { code, syscall: call.name, path: call.path, errno: -1 });
}

let installed: FsHooks | undefined;

/** Unpatched, so that looking up an fd is not a call the hooks see. */
const readlinkSync = fs.readlinkSync;

/** The path of an fd opened before the hooks were installed, where the system tells (Linux: /proc/self/fd). */
function openedBefore(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/**
 * Installs the hooks; returns the function that removes them. One set of hooks at a time. A FileHandle's
 * prototype is reached by opening one, hence async.
 */
export async function interceptFs(hooks: FsHooks): Promise<() => void> {
  if (installed) throw new Error('fs is already intercepted');
  installed = hooks;
  const fdPaths = new Map<number, string>();
  const handlePaths = new WeakMap<object, string>();
  const restores: Array<() => void> = [];

  const patch = (target: Record<string, unknown>, key: string, make: (original: (...a: unknown[]) => unknown) => (...a: unknown[]) => unknown) => {
    const original = target[key] as (...a: unknown[]) => unknown;
    target[key] = make(original);
    restores.push(() => {
      target[key] = original;
    });
  };

  const describe = (api: FsApi, name: string, args: unknown[], self?: object): FsCall => {
    let p: string | undefined;
    let fd: number | undefined;
    if (api === 'handle') p = handlePaths.get(self!);
    else if (typeof args[0] === 'number') {
      fd = args[0];
      p = fdPaths.get(fd) ?? openedBefore(fd);
    } else if (typeof args[0] === 'string' || args[0] instanceof URL || Buffer.isBuffer(args[0])) p = path.resolve(String(args[0] instanceof URL ? args[0].pathname : args[0]));
    // The stack is captured now but formatted (source maps: the costly part) only when `site` or `sites` is read.
    const captured = errorHere();
    let frames: string[] | undefined;
    const sites = () => (frames ??= srcFrames(captured.stack));
    const call = { api, name, path: p, args } as FsCall;
    Object.defineProperty(call, 'site', { enumerable: true, get: () => sites()[0] });
    Object.defineProperty(call, 'sites', { enumerable: true, get: sites });
    if (fd !== undefined) call.fd = fd;
    if (api === 'handle') call.handle = self!;
    if (PATH_ARGS_2.has(name) && typeof args[1] === 'string') call.dest = path.resolve(args[1]);
    return call;
  };

  /** Applies a verdict: returns the (possibly shortened) args to run with, or the error to fail with. */
  const judge = (call: FsCall): { error: NodeJS.ErrnoException } | { args: unknown[] } => {
    const verdict = installed?.before?.(call);
    if (verdict && 'fail' in verdict) return { error: systemError(verdict.fail, call) };
    if (verdict && 'shortWrite' in verdict && WRITES.has(call.name)) return { args: shorten(call, verdict.shortWrite) };
    return { args: call.args };
  };

  const track = (call: FsCall, result: unknown) => {
    if (call.name === 'open' && typeof result === 'number' && call.path) fdPaths.set(result, call.path);
    if (call.name === 'close' && call.fd !== undefined) fdPaths.delete(call.fd);
    installed?.after?.(call, result);
  };

  const fsObj = fs as unknown as Record<string, unknown>;
  for (const key of Object.keys(fs)) {
    if (NOT_CALLS.has(key) || typeof fsObj[key] !== 'function' || /^[A-Z]/.test(key)) continue;
    if (key.endsWith('Sync')) {
      const name = key.slice(0, -4);
      patch(fsObj, key, (original) => (...args) => {
        const call = describe('sync', name, args);
        const j = judge(call);
        // existsSync reports any failure as false, never as an error.
        if ('error' in j && name === 'exists') return false;
        if ('error' in j) {
          if (name === 'close') closeAnyway(() => original(...args));
          throw j.error;
        }
        const result = original(...j.args);
        track(call, result);
        return result;
      });
    } else if (key !== 'promises') {
      patch(fsObj, key, (original) => (...args) => {
        const cb = args[args.length - 1];
        if (typeof cb !== 'function') return original(...args);
        const call = describe('callback', key, args.slice(0, -1));
        const j = judge(call);
        if ('error' in j) {
          if (key === 'close') return original(...args.slice(0, -1), () => (cb as (e: unknown) => void)(j.error));
          // fs.exists calls back with false alone, as it does for any failure.
          process.nextTick(cb as (e: unknown) => void, key === 'exists' ? false : j.error);
          return undefined;
        }
        return original(...j.args, (err: unknown, ...rest: unknown[]) => {
          if (!err) track(call, rest[0]);
          (cb as (...a: unknown[]) => void)(err, ...rest);
        });
      });
    }
  }

  const promises = fsp as unknown as Record<string, unknown>;
  for (const key of Object.keys(fsp)) {
    if (typeof promises[key] !== 'function' || key === 'watch' || key === 'constants') continue;
    patch(promises, key, (original) => async (...args) => {
      const call = describe('promise', key, args);
      const j = judge(call);
      if ('error' in j) throw j.error;
      const result = await original(...j.args);
      if (key === 'open' && result && call.path) {
        handlePaths.set(result as object, call.path);
        wrapOwnClose(result as Record<string, unknown>);
      }
      track(call, result);
      return result;
    });
  }

  /** A FileHandle's close is its own property (an arrow function), not the prototype's: wrapped on each handle opened. */
  const wrapOwnClose = (handle: Record<string, unknown>) => {
    const original = handle.close;
    if (!Object.hasOwn(handle, 'close') || typeof original !== 'function') return;
    handle.close = async (...args: unknown[]) => {
      const call = describe('handle', 'close', args, handle);
      const j = judge(call);
      if ('error' in j) {
        await Promise.resolve(original(...args)).catch(() => undefined);
        throw j.error;
      }
      const result = await original(...j.args);
      track(call, result);
      return result;
    };
  };

  const probe = await fsp.open(process.execPath, 'r');
  const handleProto = Object.getPrototypeOf(probe) as Record<string, unknown>;
  await probe.close();
  for (const key of ['read', 'readv', 'readFile', 'write', 'writev', 'writeFile', 'appendFile', 'sync', 'datasync', 'truncate', 'stat', 'close', 'chmod', 'utimes']) {
    // Only methods the prototype has (close is each handle's own: see wrapOwnClose).
    if (typeof handleProto[key] !== 'function') continue;
    patch(handleProto, key, (original) =>
      async function (this: object, ...args: unknown[]) {
        const call = describe('handle', key, args, this);
        const j = judge(call);
        if ('error' in j) throw j.error;
        const result = await original.apply(this, j.args);
        track(call, result);
        return result;
      },
    );
  }

  syncBuiltinESMExports();
  return () => {
    for (const restore of restores.reverse()) restore();
    syncBuiltinESMExports();
    installed = undefined;
  };
}

/** A write call's arguments, cut to its first `n` bytes (for every form of write and writev). */
function shorten(call: FsCall, n: number): unknown[] {
  const args = [...call.args];
  const first = call.api === 'handle' ? 0 : 1;
  const data = args[first];
  if (call.name === 'writev' && Array.isArray(data)) {
    const total = Buffer.concat(data as Uint8Array[]);
    args[first] = [total.subarray(0, Math.min(n, total.length))];
    return args;
  }
  if (typeof data === 'string') {
    const bytes = Buffer.from(data, (typeof args[first + 2] === 'string' ? args[first + 2] : 'utf8') as BufferEncoding);
    // (fd, string, position?, encoding?) becomes (fd, buffer, 0, n, position).
    const position = typeof args[first + 1] === 'number' ? args[first + 1] : null;
    return [...args.slice(0, first), bytes, 0, Math.min(n, bytes.length), position];
  }
  if (ArrayBuffer.isView(data)) {
    const offset = typeof args[first + 1] === 'number' ? (args[first + 1] as number) : 0;
    const length = typeof args[first + 2] === 'number' ? (args[first + 2] as number) : data.byteLength - offset;
    const position = args[first + 3] ?? null;
    return [...args.slice(0, first), data, offset, Math.min(n, length), position];
  }
  return args;
}
