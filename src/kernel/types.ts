/** A value that survives msgpack and JSON unchanged. Binary data travels as Uint8Array. */
export type JsonValue = null | boolean | number | string | Uint8Array | JsonValue[] | { [key: string]: JsonValue };

export interface EventMetadata {
  /** Who caused the event (a user id, a service name). */
  actor?: string;
  /** Groups every event caused by one request or conversation turn. */
  correlationId?: string;
  /** The id of the event (or command) that caused this one. */
  causationId?: string;
  [field: string]: JsonValue | undefined;
}

/** What a caller appends. */
export interface NewEvent {
  type: string;
  data: JsonValue;
  metadata?: EventMetadata;
  /** Caller-chosen id: appending an id the stream already holds returns the original result and writes nothing. */
  id?: string;
  /** Version of the event type's payload schema; defaults to 1. */
  schemaVersion?: number;
}

/** An event as stored: everything a reader gets back. */
export interface RecordedEvent {
  id: string;
  streamId: string;
  /** 1, 2, 3 ... without gaps within a stream. */
  version: number;
  /** Position in the global feed: 1, 2, 3 ... across all streams, without gaps. */
  position: number;
  type: string;
  schemaVersion: number;
  /** Milliseconds since the epoch; never decreases within a stream. */
  timestamp: number;
  data: JsonValue;
  metadata: EventMetadata;
}

/** `any`: no check; `no_stream`: the stream must not exist; `exists`: it must; a number: its exact current version (0 = no stream). */
export type ExpectedVersion = 'any' | 'no_stream' | 'exists' | number;

export interface AppendResult {
  streamId: string;
  firstVersion: number;
  lastVersion: number;
  firstPosition: number;
  lastPosition: number;
  /** True when every event id was already in the stream: nothing was written, this is the original result. */
  duplicate: boolean;
}

export type DurabilityMode = 'always' | 'batched' | 'none';
export type ReadDirection = 'forward' | 'backward';
