/** A frame is remembered once this many bytes past the last remembered one: a read from a version scans at most about this far. */
const SPACING = 64 * 1024;
/** Files remembered at most; the least recently used is forgotten first. */
const MAX_FILES = 4096;

/**
 * Where some frames of stream segments start, learnt while reading them, so
 * that a read from a version in the middle of a large segment starts near it
 * instead of at byte 0. Committed frames never move, so what was learnt stays
 * true; a file that is cut or removed is forgotten.
 */
export class FrameIndex {
  readonly #files = new Map<string, { versions: number[]; offsets: number[] }>();

  /** Records a frame of `file` starting at `offset` whose first version is `firstVersion`. */
  note(file: string, firstVersion: number, offset: number): void {
    if (offset === 0) return;
    let entry = this.#files.get(file);
    if (!entry) {
      if (this.#files.size >= MAX_FILES) this.#files.delete(this.#files.keys().next().value!);
      entry = { versions: [], offsets: [] };
      this.#files.set(file, entry);
    }
    const i = upperBound(entry.versions, firstVersion);
    const before = i > 0 ? entry.offsets[i - 1]! : 0;
    const after = i < entry.offsets.length ? entry.offsets[i]! : Number.POSITIVE_INFINITY;
    if (entry.versions[i - 1] === firstVersion || offset - before < SPACING || after - offset < SPACING) return;
    entry.versions.splice(i, 0, firstVersion);
    entry.offsets.splice(i, 0, offset);
  }

  /** The offset of the last remembered frame starting at or before `version` (0 when none). */
  startFor(file: string, version: number): { offset: number; firstVersion: number } {
    const entry = this.#touch(file);
    const i = entry ? upperBound(entry.versions, version) - 1 : -1;
    return i < 0 ? { offset: 0, firstVersion: 0 } : { offset: entry!.offsets[i]!, firstVersion: entry!.versions[i]! };
  }

  /** The offset of the first remembered frame starting after `version`: every frame holding `version` or less ends at or before it. */
  endAfter(file: string, version: number): number | undefined {
    const entry = this.#touch(file);
    if (!entry) return undefined;
    const i = upperBound(entry.versions, version);
    return i < entry.offsets.length ? entry.offsets[i] : undefined;
  }

  /** The first version of the remembered frame starting at `offset`. */
  versionAt(file: string, offset: number): number | undefined {
    const entry = this.#files.get(file);
    const i = entry ? entry.offsets.indexOf(offset) : -1;
    return i < 0 ? undefined : entry!.versions[i];
  }

  forget(file: string): void {
    this.#files.delete(file);
  }

  #touch(file: string) {
    const entry = this.#files.get(file);
    if (entry) {
      this.#files.delete(file);
      this.#files.set(file, entry);
    }
    return entry;
  }
}

/** The first index whose value is greater than `v`. */
function upperBound(values: readonly number[], v: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
