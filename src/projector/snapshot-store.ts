/** A projection's state as persisted, with the checkpoint it reflects. */
export interface ProjectionSnapshot {
  name: string;
  version: number;
  /** Every event at or below this global position is applied, none above (positions of purged events included, as gaps). */
  position: number;
  /** Where the last event the state saw sits: `position`, or below it when the positions after it are gaps (0: none yet). */
  eventPosition: number;
  /**
   * The id of the event at `eventPosition` (empty at 0). A log that lost its
   * unsynced tail in a crash may hold a different event there later; the id
   * tells the runner that the snapshot ran ahead of the log.
   */
  eventId: string;
  state: unknown;
}

/** Where the runner keeps snapshots: files beside a flatfile store's logs, or memory. */
export interface SnapshotStore {
  /** The snapshot saved last, or undefined when there is none or it cannot be read (the runner rebuilds). */
  load(name: string): Promise<ProjectionSnapshot | undefined>;
  /** Replaces the snapshot atomically: a crash leaves the old one or the new one. */
  save(snapshot: ProjectionSnapshot): Promise<void>;
}

/** Snapshots held in memory, for in-memory stores and tests. Saved states are deep copies, as a file store's would be. */
export class MemorySnapshotStore implements SnapshotStore {
  readonly #saved = new Map<string, ProjectionSnapshot>();

  async load(name: string): Promise<ProjectionSnapshot | undefined> {
    const s = this.#saved.get(name);
    return s && structuredClone(s);
  }

  async save(snapshot: ProjectionSnapshot): Promise<void> {
    this.#saved.set(snapshot.name, structuredClone(snapshot));
  }
}
