/**
 * Size bounds of event payloads. Characters are UTF-16 code units (String.length);
 * bytes are the msgpack-encoded size, which is what the log stores.
 */
export const EVENT_LIMITS = {
  /** Titles, display names, file names: 1..256 characters, no control characters. (Snapshot names are ids: kernel/validation.ts.) */
  labelChars: 256,
  /** A session title: any text, tabs and line breaks included, empty allowed. */
  titleChars: 1_000,
  /** One tag: 1..64 characters, no control characters. */
  tagChars: 64,
  /** Tags on one session. */
  tags: 64,
  /** Message text, a text or reasoning part, a document summary. */
  textChars: 1_000_000,
  /** Text extracted from one document. */
  extractedTextChars: 8_000_000,
  /** Content parts in one message. */
  parts: 256,
  /** Messages one truncate or clear deletes. */
  messagesPerEvent: 1_000_000,
  /** Attachments on one message. */
  attachments: 64,
  /** Entities in one document analysis. */
  entities: 10_000,
  /** A URL in an image or file part. */
  urlChars: 8_192,
  /** Free metadata of a user, session, message or document, and a user's profile or preferences. */
  metadataBytes: 64 * 1024,
  /** Tool-call arguments, a tool result, an analysis's free JSON. */
  jsonBytes: 1024 * 1024,
  /** A context document or merge patch. */
  contextBytes: 4 * 1024 * 1024,
  /** A whole payload, whatever its type (below the engine's 64 MiB frame cap). */
  payloadBytes: 32 * 1024 * 1024,
} as const;
