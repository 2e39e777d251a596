import { termsOf } from './analyse.js';
import type { IndexStats } from './manifest.js';
import { MemorySegment } from './memory-segment.js';
import { FIELDS, type SearchDoc } from '../projections/search/search-doc.js';
import type { DocRecord, Segment, SegmentSource } from './segment.js';
import type { SegmentFile } from './segment-file.js';

export interface FileSlot {
  name: string;
  file: SegmentFile;
  dead: Set<number>;
  deadDf: Map<string, number>;
}

/** The memory segment and its tombstones. */
export interface MemorySlot {
  segment: MemorySegment;
  dead: Set<number>;
  deadDf: Map<string, number>;
}

/** Where a live document is: its segment, that segment's tombstones, and its ordinal. */
interface Located {
  segment: Segment;
  dead: Set<number>;
  deadDf: Map<string, number>;
  ordinal: number;
}

/**
 * What a query reads: the segment files, the memory segment being written
 * out (frozen) and the one taking new writes, their tombstones, and the
 * statistics of the live documents. Catch-up adds and tombstones documents
 * here; the writer replaces segments with files.
 */
export class SegmentSet {
  readonly stem: boolean;
  files: FileSlot[] = [];
  memory: MemorySlot;
  /** The memory segment being written to a file, searched until the file replaces it. */
  frozen: MemorySlot | undefined;
  /** Segments (files, or the one being written) holding a purged session's documents, tombstoned: rewritten without them. */
  purgedIn = new Set<FileSlot | MemorySlot>();
  stats: IndexStats = { docs: 0, lengths: FIELDS.map(() => 0), fieldDocs: FIELDS.map(() => 0) };

  constructor(stem: boolean) {
    this.stem = stem;
    this.memory = this.newMemory();
  }

  newMemory(): MemorySlot {
    return { segment: new MemorySegment(this.stem), dead: new Set(), deadDf: new Map() };
  }

  /** Every segment with its tombstones, oldest first, the memory segment last. Valid until the next await (background writes replace segments). */
  sources(): SegmentSource[] {
    return [...this.files.map((f) => ({ segment: f.file as Segment, dead: f.dead, deadDf: f.deadDf })), ...(this.frozen ? [this.frozen] : []), this.memory];
  }

  add(doc: SearchDoc): void {
    const record = this.memory.segment.add(doc);
    this.#count(record, 1);
  }

  delete(key: string): void {
    const found = this.locate(key);
    if (found) this.kill(found);
  }

  kill({ segment, dead, deadDf, ordinal }: Located): void {
    dead.add(ordinal);
    this.#count(segment.doc(ordinal), -1);
    countDeadTerms(segment, ordinal, deadDf, this.stem);
  }

  /** Where the document sorting at `key` is live: it is live in at most one segment. */
  locate(key: string): Located | undefined {
    const sources = this.sources().reverse();
    for (const source of sources) {
      const ordinal = source.segment.find(key);
      if (ordinal !== undefined && !source.dead.has(ordinal)) return { segment: source.segment, dead: source.dead as Set<number>, deadDf: source.deadDf as Map<string, number>, ordinal };
    }
    return undefined;
  }

  /** Tombstones every live document sorting under `prefix`; with `purge`, the files holding any of them (tombstoned ones too) are to be rewritten. */
  deleteUnder(prefix: string, purge: boolean): void {
    for (const slot of [...this.files, ...(this.frozen ? [this.frozen] : [])]) {
      const segment = 'file' in slot ? slot.file : slot.segment;
      const ordinals = segment.withPrefix(prefix);
      // Tombstoned versions (an edited message's old text) are in the file too: a purge rewrites it as well.
      if (purge && ordinals.length > 0) this.purgedIn.add(slot);
      for (const ordinal of ordinals) if (!slot.dead.has(ordinal)) this.kill({ segment, dead: slot.dead, deadDf: slot.deadDf, ordinal });
    }
    // The memory segment is written without its tombstoned documents: nothing of the session reaches a file.
    for (const ordinal of this.memory.segment.withPrefix(prefix)) if (!this.memory.dead.has(ordinal)) this.kill({ ...this.memory, ordinal });
  }

  #count(record: DocRecord, sign: 1 | -1): void {
    this.stats.docs += sign;
    record.lengths.forEach((n, i) => {
      this.stats.lengths[i]! += sign * n;
      if (n > 0) this.stats.fieldDocs[i]! += sign;
    });
  }
}

/** Adds a tombstoned document's terms to its segment's dead counts: they are read again from its stored text, which analyses to the same terms. */
export function countDeadTerms(segment: Segment, ordinal: number, deadDf: Map<string, number>, stem: boolean): void {
  const { entities } = segment.doc(ordinal);
  for (const term of termsOf({ fields: segment.text(ordinal), ...(entities && { entities }) }, stem)) deadDf.set(term, (deadDf.get(term) ?? 0) + 1);
}
