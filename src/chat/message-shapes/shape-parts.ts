import { type ContentPart, type Extra, type MessageMetadata, assertContentPart } from '../../events/messages.js';
import type { JsonValue } from '../../kernel/types.js';

/**
 * What the framework mappings share. Each maps a framework's message to the
 * store's by one rule: the typed fields take what the store reads, and
 * `extra` keeps the framework's keys that the typed fields do not give back
 * (the original `type` too, when it cannot be told from the typed part), so
 * the reverse mapping is the typed fields merged with `extra`.
 */

/** A framework message in the store's shape: what `chat.messages.add` takes. */
export interface MappedMessage {
  messageId?: string;
  role: string;
  content: string | ContentPart[];
  metadata?: MessageMetadata;
  extra?: Extra;
}

/** What the reverse mappings read of a stored message (a `Message` as `chat.messages.get` and `list` return it). */
export interface StoredMessage {
  messageId: string;
  role: string;
  content: string | ContentPart[];
  metadata?: MessageMetadata;
  extra?: Extra;
}

export type JsonRecord = { [key: string]: JsonValue };

export function isRecord(value: unknown): value is JsonRecord {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** `o` without `keys`. */
export function without(o: JsonRecord, ...keys: string[]): JsonRecord {
  const out: JsonRecord = {};
  for (const [k, v] of Object.entries(o)) if (!keys.includes(k)) out[k] = v;
  return out;
}

/** `part` with `extra` set when it holds anything. */
export function withExtra<P extends object>(part: P, extra: JsonRecord): P & { extra?: Extra } {
  return Object.keys(extra).length > 0 ? { ...part, extra } : part;
}

/**
 * The typed part, when the store accepts it as one; else the original, kept
 * whole as an `other` part (a file whose URL the store refuses, a tool name it
 * cannot take ...), so mapping never loses or refuses what JSON can hold.
 */
export function typedOr(typed: ContentPart, original: JsonRecord): ContentPart {
  try {
    assertContentPart(typed, 'part');
    return typed;
  } catch {
    return { type: 'other', extra: original };
  }
}

/** Whether `check` accepts `value`. */
export function accepts(check: (value: unknown, field: string) => void, value: unknown): boolean {
  try {
    check(value, 'value');
    return true;
  } catch {
    return false;
  }
}
