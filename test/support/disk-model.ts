/**
 * A model of what a folder holds on the disk (as opposed to the page cache), following every file-system
 * call made inside it (the fs interceptor's `after` hook), and writing the folder as power loss could
 * leave it (power-loss.ts).
 *
 * The model (POSIX's promises, not one file system's habits):
 * - A file's bytes are durable as of its last fsync/fdatasync. Of the writes and truncates made after it,
 *   a random prefix (in call order) reached the disk, the last of them possibly torn at a random byte.
 *   A prefix rather than any subset: the store's recovery relies on checksummed frames and on fsync
 *   barriers, not on write order within a file, so a prefix with a torn end exercises every torn-tail
 *   and lost-tail case; a subset would also leave holes in the middle of appended data, which ext4 and
 *   xfs (data=ordered, delayed allocation) do not expose as zeros inside the file's size.
 * - A folder's entries are durable as of its last fsync. Of the entries it gained, lost or renamed after
 *   it, a random prefix persists (metadata journals commit in order): a new file may vanish, a file
 *   renamed over another may revert to the old one, an unlinked file may come back (with its content as
 *   the file rule leaves it). A rename between two folders persists whole or not at all.
 * - Everything in the folder when the simulation starts is durable.
 * Not seen (see fs-interceptor.ts): calls of worker threads (the search index's merges), of native code,
 * and of proper-lockfile (writer.lock/ folders). What they left in the folder is copied as it is at the
 * cut, folders with an old mtime (a lock left by power loss is stale); `unseen` lists it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FsCall } from './fs-interceptor.js';

type FileOp = { kind: 'write'; offset: number; bytes: Buffer } | { kind: 'truncate'; length: number };
interface FileNode {
  kind: 'file';
  durable: Buffer;
  pending: FileOp[];
  size: number;
}
/** A rename between two folders: both halves persist, or neither (decided by the destination's folder). */
interface Pair {
  persisted: boolean;
}
type DirOp = { kind: 'set'; name: string; node: Node; pair?: Pair } | { kind: 'delete'; name: string; pair?: Pair } | { kind: 'rename'; from: string; to: string; node: Node };
interface DirNode {
  kind: 'dir';
  live: Map<string, Node>;
  durable: Map<string, Node>;
  ops: DirOp[];
}
type Node = FileNode | DirNode;
interface OpenFile {
  node: FileNode | DirNode;
  pos: number;
  append: boolean;
}

/** Calls that change nothing on the disk (or nothing the model keeps: times, modes). */
const READS = new Set([
  'read', 'readv', 'readFile', 'stat', 'lstat', 'fstat', 'statfs', 'readdir', 'opendir', 'access', 'exists', 'realpath', 'readlink',
  'utimes', 'futimes', 'lutimes', 'chmod', 'fchmod', 'lchmod', 'chown', 'fchown', 'lchown',
]);

function newDir(): DirNode {
  return { kind: 'dir', live: new Map(), durable: new Map(), ops: [] };
}

/** Applies file operations to `base` (in place when it is long enough: the caller owns it), growing it once. */
function applyOps(base: Buffer, ops: readonly FileOp[]): Buffer {
  let length = base.length;
  let capacity = length;
  for (const op of ops) {
    length = op.kind === 'truncate' ? op.length : Math.max(length, op.offset + op.bytes.length);
    capacity = Math.max(capacity, length);
  }
  const out = capacity > base.length ? Buffer.concat([base, Buffer.alloc(capacity - base.length)]) : base;
  length = base.length;
  for (const op of ops) {
    if (op.kind === 'truncate') {
      // Bytes cut off read as zeros if the file grows again.
      if (op.length < length) out.fill(0, op.length, length);
      length = op.length;
      continue;
    }
    op.bytes.copy(out, op.offset);
    length = Math.max(length, op.offset + op.bytes.length);
  }
  return out.subarray(0, length);
}

function toBytes(data: unknown, encoding: unknown): Buffer | undefined {
  if (typeof data === 'string') return Buffer.from(data, (typeof encoding === 'string' ? encoding : 'utf8') as BufferEncoding);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/** open(2) flags as what they do to the file. */
function openFlags(flags: unknown): { create: boolean; truncate: boolean; append: boolean } {
  if (typeof flags === 'number') {
    const c = fs.constants;
    return { create: (flags & c.O_CREAT) !== 0, truncate: (flags & c.O_TRUNC) !== 0, append: (flags & c.O_APPEND) !== 0 };
  }
  const f = typeof flags === 'string' ? flags : 'r';
  return { create: /[wa]/.test(f), truncate: f.includes('w'), append: f.includes('a') };
}

/** The disk as the model sees it: the live tree (what reads see) and, per node, what is durable. */
export class DiskModel {
  readonly root: string;
  readonly #top: DirNode;
  readonly #dirs: DirNode[] = [];
  readonly #fds = new Map<number, OpenFile>();
  readonly #handles = new WeakMap<object, OpenFile>();
  /** Mutating calls the model does not know how to follow. */
  readonly unmodeled: string[] = [];

  constructor(root: string) {
    this.root = path.resolve(root);
    this.#top = this.#scan(this.root);
  }

  inside(p: string | undefined): boolean {
    return p !== undefined && (p === this.root || p.startsWith(this.root + path.sep));
  }

  /** The content of what is on the disk now, as durable (the starting state, and what unseen callers made). */
  #scan(p: string): DirNode {
    const dir = newDir();
    this.#dirs.push(dir);
    for (const entry of fs.readdirSync(p, { withFileTypes: true })) {
      const child = path.join(p, entry.name);
      let node: Node;
      if (entry.isDirectory()) node = this.#scan(child);
      else if (entry.isFile()) {
        const bytes = fs.readFileSync(child);
        node = { kind: 'file', durable: bytes, pending: [], size: bytes.length };
      } else continue;
      dir.live.set(entry.name, node);
      dir.durable.set(entry.name, node);
    }
    return dir;
  }

  /** The folder holding `p` and p's name in it; a folder the model has not seen yet is taken from the disk. */
  #parent(p: string): { dir: DirNode; name: string } | undefined {
    const parts = path.relative(this.root, p).split(path.sep);
    let dir = this.#top;
    let at = this.root;
    for (const part of parts.slice(0, -1)) {
      at = path.join(at, part);
      let next = dir.live.get(part);
      if (!next) {
        if (!fs.existsSync(at)) return undefined;
        next = this.#adopt(dir, part, at);
      }
      if (next.kind !== 'dir') return undefined;
      dir = next;
    }
    return { dir, name: parts.at(-1)! };
  }

  /** An entry made by a call the model did not see: durable as it is now. */
  #adopt(dir: DirNode, name: string, p: string): Node {
    let node: Node;
    if (fs.lstatSync(p).isDirectory()) node = this.#scan(p);
    else {
      const bytes = fs.readFileSync(p);
      node = { kind: 'file', durable: bytes, pending: [], size: bytes.length };
    }
    dir.live.set(name, node);
    dir.durable.set(name, node);
    return node;
  }

  #lookup(p: string): Node | undefined {
    if (p === this.root) return this.#top;
    const at = this.#parent(p);
    if (!at) return undefined;
    const node = at.dir.live.get(at.name);
    if (node) return node;
    return fs.existsSync(p) ? this.#adopt(at.dir, at.name, p) : undefined;
  }

  #set(p: string, node: Node): void {
    const at = this.#parent(p);
    if (!at) return;
    at.dir.live.set(at.name, node);
    at.dir.ops.push({ kind: 'set', name: at.name, node });
  }

  #delete(p: string): void {
    const at = this.#parent(p);
    if (!at?.dir.live.has(at.name)) return;
    const node = at.dir.live.get(at.name)!;
    // A recursive removal takes the entries inside too, each as an operation of its own folder.
    if (node.kind === 'dir') for (const name of [...node.live.keys()]) this.#delete(path.join(p, name));
    at.dir.live.delete(at.name);
    at.dir.ops.push({ kind: 'delete', name: at.name });
  }

  #mkdir(p: string): void {
    if (this.#lookup(p)) return;
    const parent = path.dirname(p);
    if (parent !== p && this.inside(parent) && !this.#lookup(parent)) this.#mkdir(parent);
    const dir = newDir();
    this.#dirs.push(dir);
    this.#set(p, dir);
  }

  /** The file at `p`, created (empty) when asked to and missing. */
  #file(p: string, flags: { create: boolean; truncate: boolean }): Node | undefined {
    let node = this.#lookup(p);
    if (!node && flags.create) {
      node = { kind: 'file', durable: Buffer.alloc(0), pending: [], size: 0 };
      this.#set(p, node);
    } else if (node?.kind === 'file' && flags.truncate) this.#fileOp(node, { kind: 'truncate', length: 0 });
    return node;
  }

  #fileOp(node: FileNode, op: FileOp): void {
    node.pending.push(op);
    node.size = op.kind === 'truncate' ? op.length : Math.max(node.size, op.offset + op.bytes.length);
  }

  /** A write of `bytes` through an open file, at `position` or (null) where the file is. */
  #write(open: OpenFile | undefined, bytes: Buffer | undefined, position: unknown, call: FsCall): void {
    if (open?.node.kind !== 'file') return;
    if (!bytes) {
      this.unmodeled.push(`${call.api} ${call.name} of a ${typeof call.args[1]} (${call.site})`);
      return;
    }
    const node = open.node;
    const explicit = typeof position === 'number' && position >= 0 ? position : undefined;
    const at = open.append ? node.size : (explicit ?? open.pos);
    this.#fileOp(node, { kind: 'write', offset: at, bytes: Buffer.from(bytes) });
    if (explicit === undefined) open.pos = at + bytes.length;
  }

  #sync(open: OpenFile | undefined): void {
    if (!open) return;
    const node = open.node;
    if (node.kind === 'file') {
      node.durable = applyOps(node.durable, node.pending);
      node.pending = [];
    } else {
      node.durable = new Map(node.live);
      node.ops = [];
    }
  }

  #open(call: FsCall): OpenFile | undefined {
    if (call.handle) return this.#handles.get(call.handle);
    if (typeof call.args[0] === 'number') return this.#fds.get(call.args[0]);
    return undefined;
  }

  /** Follows one call that ran (the `after` hook). */
  observe(call: FsCall, result: unknown): void {
    const name = call.name;
    if (READS.has(name)) return;
    const args = call.args;
    const p = call.path;
    const open = this.#open(call);
    switch (name) {
      case 'open': {
        if (!p) return;
        const flags = openFlags(args[1]);
        const node = this.#file(p, flags);
        if (!node) return;
        const state: OpenFile = { node, pos: 0, append: flags.append };
        if (typeof result === 'number') this.#fds.set(result, state);
        else if (result && typeof result === 'object') this.#handles.set(result, state);
        return;
      }
      case 'close':
        if (typeof args[0] === 'number' && call.api !== 'handle') this.#fds.delete(args[0]);
        return;
      case 'write': {
        const first = call.api === 'handle' ? 0 : 1;
        const data = args[first];
        const written = typeof result === 'number' ? result : (result as { bytesWritten: number }).bytesWritten;
        if (typeof data === 'string') {
          this.#write(open, toBytes(data, args[first + 2])?.subarray(0, written), args[first + 1], call);
        } else if (ArrayBuffer.isView(data)) {
          const o = args[first + 1];
          const options = o && typeof o === 'object' ? (o as { offset?: number; position?: number | null }) : undefined;
          const offset = options ? (options.offset ?? 0) : typeof o === 'number' ? o : 0;
          const position = options ? options.position : args[first + 3];
          this.#write(open, toBytes(data, undefined)!.subarray(offset, offset + written), position, call);
        } else this.#write(open, undefined, undefined, call);
        return;
      }
      case 'writev': {
        const first = call.api === 'handle' ? 0 : 1;
        const written = typeof result === 'number' ? result : (result as { bytesWritten: number }).bytesWritten;
        const bytes = Buffer.concat(args[first] as Uint8Array[]).subarray(0, written);
        this.#write(open, bytes, args[first + 1], call);
        return;
      }
      case 'writeFile':
      case 'appendFile': {
        const first = call.api === 'handle' ? 0 : 1;
        const o = args[first + 1];
        const options = typeof o === 'string' ? { encoding: o } : ((o ?? {}) as { encoding?: string; flag?: string });
        const bytes = toBytes(args[first], options.encoding);
        if (open || typeof args[0] === 'number' || (args[0] && typeof args[0] === 'object' && !Buffer.isBuffer(args[0]))) {
          // Through an open file: from where it is (a FileHandle passed to fsp.writeFile counts as one).
          const viaHandle = open ?? (args[0] && typeof args[0] === 'object' ? this.#handles.get(args[0] as object) : undefined);
          this.#write(viaHandle, bytes, null, call);
          return;
        }
        if (!p) return;
        const flags = openFlags(options.flag ?? (name === 'appendFile' ? 'a' : 'w'));
        const node = this.#file(p, flags);
        if (node) this.#write({ node, pos: 0, append: flags.append }, bytes, null, call);
        return;
      }
      case 'truncate':
      case 'ftruncate': {
        const length = (call.api === 'handle' ? args[0] : args[1]) ?? 0;
        const node = open?.node ?? (p ? this.#lookup(p) : undefined);
        if (node?.kind === 'file') this.#fileOp(node, { kind: 'truncate', length: length as number });
        return;
      }
      case 'fsync':
      case 'fdatasync':
      case 'sync':
      case 'datasync':
        this.#sync(open);
        return;
      case 'mkdir':
        if (p) this.#mkdir(p);
        return;
      case 'mkdtemp':
        if (typeof result === 'string') this.#mkdir(path.resolve(result));
        return;
      case 'unlink':
      case 'rmdir':
      case 'rm':
        if (p) this.#delete(p);
        return;
      case 'link':
      case 'copyFile':
      case 'rename': {
        if (!p || !call.dest) return;
        const node = this.#lookup(p);
        if (!node) return;
        if (name === 'copyFile') {
          if (node.kind !== 'file') return;
          const copy = this.#file(call.dest, { create: true, truncate: true });
          if (copy?.kind === 'file') this.#fileOp(copy, { kind: 'write', offset: 0, bytes: applyOps(Buffer.from(node.durable), node.pending) });
          return;
        }
        if (name === 'link') this.#set(call.dest, node);
        else this.#rename(p, call.dest, node);
        return;
      }
      default:
        this.unmodeled.push(`${call.api} ${name} ${p ?? ''} (${call.site})`);
    }
  }

  #rename(from: string, to: string, node: Node): void {
    const a = this.#parent(from);
    const b = this.#parent(to);
    if (!a || !b) return;
    if (b.dir.live.get(b.name)?.kind === 'dir' && node.kind === 'dir') this.#delete(to); // an empty folder replaced
    a.dir.live.delete(a.name);
    b.dir.live.set(b.name, node);
    if (a.dir === b.dir) {
      a.dir.ops.push({ kind: 'rename', from: a.name, to: b.name, node });
      return;
    }
    const pair: Pair = { persisted: false };
    a.dir.ops.push({ kind: 'delete', name: a.name, pair });
    b.dir.ops.push({ kind: 'set', name: b.name, node, pair });
  }

  /**
   * Writes the folder as power loss could leave it into `into` (which must not exist): each folder keeps
   * a random prefix of its entry changes since its last fsync, each file a random prefix of its writes.
   * `unseen` are the paths (relative) that calls the model did not see made; they are copied as they are.
   */
  writeImage(into: string, random: () => number): { unseen: string[] } {
    const cuts = new Map<DirNode, number>();
    for (const dir of this.#dirs) {
      const cut = Math.floor(random() * (dir.ops.length + 1));
      cuts.set(dir, cut);
      dir.ops.forEach((op, i) => {
        if (op.kind === 'set' && op.pair) op.pair.persisted = i < cut;
      });
    }
    const contents = new Map<FileNode, Buffer>();
    const content = (node: FileNode): Buffer => {
      let bytes = contents.get(node);
      if (!bytes) {
        const n = node.pending.length;
        const k = Math.floor(random() * (n + 1));
        const ops = node.pending.slice(0, k);
        const torn = node.pending[k];
        if (torn?.kind === 'write' && random() < 0.5) ops.push({ kind: 'write', offset: torn.offset, bytes: torn.bytes.subarray(0, Math.floor(random() * torn.bytes.length)) });
        bytes = applyOps(Buffer.from(node.durable), ops);
        contents.set(node, bytes);
      }
      return bytes;
    };
    const entries = (dir: DirNode): Map<string, Node> => {
      const out = new Map(dir.durable);
      const cut = cuts.get(dir)!;
      dir.ops.forEach((op, i) => {
        if (op.kind === 'set') {
          if (i < cut) out.set(op.name, op.node);
        } else if (op.kind === 'delete') {
          if (op.pair ? op.pair.persisted : i < cut) out.delete(op.name);
        } else if (i < cut) {
          out.delete(op.from);
          out.set(op.to, op.node);
        }
      });
      return out;
    };
    const written = new Set<DirNode>();
    const write = (dir: DirNode, at: string) => {
      fs.mkdirSync(at);
      if (written.has(dir)) return; // one folder reached twice (cannot happen on a real disk): written once
      written.add(dir);
      for (const [name, node] of entries(dir)) {
        const p = path.join(at, name);
        if (node.kind === 'dir') write(node, p);
        else writeSparse(p, content(node));
      }
    };
    write(this.#top, into);
    const unseen: string[] = [];
    this.#copyUnseen(this.root, this.#top, into, unseen);
    return { unseen };
  }

  /** Copies entries of the real folder that the model never heard of (made by unseen calls) into the image. */
  #copyUnseen(real: string, dir: DirNode, image: string, unseen: string[]): void {
    if (!fs.existsSync(image)) return;
    for (const entry of fs.readdirSync(real, { withFileTypes: true })) {
      const from = path.join(real, entry.name);
      const to = path.join(image, entry.name);
      const node = dir.live.get(entry.name);
      if (node) {
        if (node.kind === 'dir' && entry.isDirectory()) this.#copyUnseen(from, node, to, unseen);
        continue;
      }
      if (fs.existsSync(to)) continue;
      unseen.push(path.relative(this.root, from));
      if (entry.isDirectory()) {
        fs.cpSync(from, to, { recursive: true });
        fs.utimesSync(to, new Date(0), new Date(0));
      } else if (entry.isFile()) fs.copyFileSync(from, to);
    }
  }
}

const ZERO_CHUNK = Buffer.alloc(64 * 1024);

/** Writes `bytes` to a new file, leaving runs of zeros as holes (a 16 MiB preallocated journal is mostly zeros). */
function writeSparse(file: string, bytes: Buffer): void {
  const fd = fs.openSync(file, 'wx');
  try {
    for (let at = 0; at < bytes.length; at += ZERO_CHUNK.length) {
      const chunk = bytes.subarray(at, Math.min(at + ZERO_CHUNK.length, bytes.length));
      if (!chunk.equals(ZERO_CHUNK.subarray(0, chunk.length))) fs.writeSync(fd, chunk, 0, chunk.length, at);
    }
    fs.ftruncateSync(fd, bytes.length);
  } finally {
    fs.closeSync(fd);
  }
}
