/**
 * How the catalog knows one event type: its current schema version, the
 * check of a payload at that version, and the versions before it.
 */
export interface EventDefinition<T> {
  /** The schema version written today. */
  readonly version: number;
  /** Throws INVALID_ARGUMENT (or INVALID_ID for an id) naming the bad field, as `data.<path>`. */
  readonly validate: (data: unknown) => asserts data is T;
  /** Earlier schema versions, keyed by version: each checks a payload of its version and upcasts it to the next. */
  readonly history?: Readonly<Record<number, PastVersion>>;
}

interface PastVersion {
  readonly validate: (data: unknown) => void;
  /** Turns a valid payload of this version into one of the next version. */
  readonly upcast: (data: never) => unknown;
}

/** The definitions of an entity's events, keyed by type name; `M` maps each name to its payload type. */
export type Definitions<M> = { readonly [K in keyof M]: EventDefinition<M[K]> };

/**
 * The upcast of a past version whose payloads are payloads of the next one
 * (whose rules only widened theirs: a new optional field, a wider check): they
 * are checked by today's rules and read as they are.
 */
export const sameShape = <T>(data: T): T => data;
