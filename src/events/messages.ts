import { assertId, invalid } from '../kernel/validation.js';
import type { JsonValue } from '../kernel/types.js';
import { type Definitions, sameShape } from './definition.js';
import type { Entity } from './documents.js';
import { type JsonObject, choice, fields, flag, instant, integer, json, jsonObject, label, list, matching, mediaType, object, text } from './fields.js';
import { EVENT_LIMITS } from './limits.js';

/** The well-known roles, or any role an app names, case kept (1-256 characters, no control characters). */
export type Role = 'system' | 'user' | 'assistant' | 'tool' | (string & {});

/**
 * What a part or message holds besides the typed fields the store reads: the
 * rest of a framework's part or message, kept as given (see src/chat/message-shapes/).
 */
export type Extra = JsonObject;

export interface TextPart {
  type: 'text';
  text: string;
  extra?: Extra;
}

/** An image or file: a stored document, or a URL (http(s), data:, blob: ...). Exactly one of `documentId` and `url`. */
export interface ReferencePart {
  type: 'image' | 'file';
  documentId?: string;
  url?: string;
  /** `type/subtype`, parameters allowed (`text/plain; charset=utf-8`). */
  mediaType?: string;
  name?: string;
  /** With `documentId`: the document was made from bytes given inline, and how they came (reads give them back so). */
  inline?: InlineForm;
  /** The bytes themselves, given to or read from the chat API (never stored in the part: they become a document, see `inline`). */
  bytes?: Uint8Array;
  extra?: Extra;
}

/** How inline bytes came: as bytes, or as a base64 `data:` URL (`prefix` is the URL up to and including its comma). */
export type InlineForm = { as: 'bytes' } | { as: 'url'; prefix: string };

export interface ToolCallPart {
  type: 'tool_call';
  /** The id the model gave the call; its tool_result names it. */
  id: string;
  name: string;
  /** Left out while the model is still streaming them. */
  arguments?: JsonValue;
  extra?: Extra;
}

export interface ToolResultPart {
  type: 'tool_result';
  toolCallId: string;
  content: JsonValue;
  isError?: boolean;
  extra?: Extra;
}

export interface ReasoningPart {
  type: 'reasoning';
  text: string;
  extra?: Extra;
}

/** A part the store has no typed fields for (a source, a step boundary, app data ...): `extra` is all of it. */
export interface OtherPart {
  type: 'other';
  extra: Extra;
}

export type ContentPart = TextPart | ReferencePart | ToolCallPart | ToolResultPart | ReasoningPart | OtherPart;

export interface Attachment {
  documentId: string;
  name?: string;
  mediaType?: string;
}

/** The figures the store reads are whole numbers; any other field (cachedInputTokens, inputTokenDetails ...) is free JSON. */
export interface TokenUsage {
  inputTokens?: number;
  outputTokens?: number;
  reasoningTokens?: number;
  cachedTokens?: number;
  totalTokens?: number;
  [field: string]: JsonValue | undefined;
}

/** Known fields are checked; any other field is free JSON. */
export interface MessageMetadata {
  model?: string;
  usage?: TokenUsage;
  /** As the provider says it: stop, length, tool_calls, end_turn, MAX_TOKENS ... or null. */
  finishReason?: string | null;
  /** People, places, ids ... the message names, as the app found them; search finds the message by them. */
  entities?: Entity[];
  [field: string]: JsonValue | TokenUsage | Entity[] | undefined;
}

/**
 * Schema version 4 (version 3 with `createdAt`, and `inline` on image and file
 * parts). Version 3 was version 2 with `extra` on the message and its parts,
 * `other` parts, and wider rules for roles, URLs, media types, tool names and usage.
 * The chat API generates `messageId` (a ULID) unless the caller gives one.
 */
export interface MessageAdded {
  messageId: string;
  role: Role;
  content: string | ContentPart[];
  attachments?: Attachment[];
  metadata?: MessageMetadata;
  extra?: Extra;
  /** When the message was written, for history imported (ms since the epoch); the message reads as created then. The event's own timestamp stays the time of the write. */
  createdAt?: number;
}

/** Version 1: plain-text content, the model beside it. */
export interface MessageAddedV1 {
  messageId: string;
  role: Role;
  content: string;
  model?: string;
}

/**
 * Schema version 3: a new version of a message's content; earlier versions
 * stay in the log. Attachments, metadata and extra left out stay as they were;
 * `extra: null` removes the extra, and parts may carry `inline` (version 2 could do neither).
 */
export type MessageEdited = Omit<MessageAdded, 'role' | 'extra' | 'createdAt'> & { extra?: Extra | null };

export interface MessageDeleted {
  messageId: string;
}

/**
 * Several messages deleted at once: `messages.truncate` (the messages after
 * `after`) and `messages.clear` (every message: no `after`). `messageIds` are
 * the messages it deletes, so every reader folds it as those deletions without
 * knowing the session's order; `after` records what was asked.
 */
export interface MessageTruncated {
  after?: string;
  messageIds: string[];
}

export interface MessageEvents {
  'message.added': MessageAdded;
  'message.edited': MessageEdited;
  'message.deleted': MessageDeleted;
  'message.truncated': MessageTruncated;
}

/** Any scheme but the script ones, which a page showing the URL would run. */
const URL_SCHEME = /^(?!(?:javascript|vbscript):)[A-Za-z][A-Za-z0-9+.-]*:\S/i;
const USAGE_FIELDS = ['inputTokens', 'outputTokens', 'reasoningTokens', 'cachedTokens', 'totalTokens'] as const;
/** Metadata entities: a message names a few, unlike a document's analysis. */
const ENTITY_LIMITS = { items: 100, typeChars: 32, textChars: 200 } as const;

const PARTS: Record<ContentPart['type'], { keys: readonly string[]; check(o: Record<string, unknown>, field: string): void }> = {
  text: { keys: ['text'], check: (o, f) => text(o.text, `${f}.text`, EVENT_LIMITS.textChars) },
  image: { keys: ['documentId', 'url', 'mediaType', 'name', 'inline'], check: reference },
  file: { keys: ['documentId', 'url', 'mediaType', 'name', 'inline'], check: reference },
  tool_call: {
    keys: ['id', 'name', 'arguments'],
    check(o, f) {
      assertId(o.id, `${f}.id`);
      label(o.name, `${f}.name`);
      if (o.arguments !== undefined) json(o.arguments, `${f}.arguments`, EVENT_LIMITS.jsonBytes);
    },
  },
  tool_result: {
    keys: ['toolCallId', 'content', 'isError'],
    check(o, f) {
      assertId(o.toolCallId, `${f}.toolCallId`);
      if (o.content === undefined) throw invalid(`${f}.content`, 'is required');
      json(o.content, `${f}.content`, EVENT_LIMITS.jsonBytes);
      if (o.isError !== undefined) flag(o.isError, `${f}.isError`);
    },
  },
  reasoning: { keys: ['text'], check: (o, f) => text(o.text, `${f}.text`, EVENT_LIMITS.textChars) },
  other: {
    keys: [],
    check(o, f) {
      if (o.extra === undefined) throw invalid(`${f}.extra`, 'is required: it is the whole part');
    },
  },
};
const PART_TYPES = Object.keys(PARTS) as ContentPart['type'][];

function reference(o: Record<string, unknown>, f: string): void {
  if ((o.documentId === undefined) === (o.url === undefined)) throw invalid(f, 'must give exactly one of documentId and url');
  if (o.documentId !== undefined) assertId(o.documentId, `${f}.documentId`);
  if (o.url !== undefined) url(o.url, `${f}.url`);
  if (o.mediaType !== undefined) mediaType(o.mediaType, `${f}.mediaType`);
  if (o.name !== undefined) label(o.name, `${f}.name`);
  if (o.inline !== undefined) inlineForm(o, `${f}.inline`);
}

/** A base64 data: URL's prefix: `data:`, an optional media type with parameters, `;base64,`. */
const DATA_URL_PREFIX = /^data:[^,\p{Cc}]{0,256};base64,$/iu;

function inlineForm(o: Record<string, unknown>, f: string): void {
  if (o.documentId === undefined) throw invalid(f, 'is only given with documentId');
  const form = object(o.inline, f);
  choice(form.as, `${f}.as`, ['bytes', 'url']);
  if (form.as === 'bytes') fields(form, f, ['as']);
  else matching(fields(form, f, ['as', 'prefix']).prefix, `${f}.prefix`, DATA_URL_PREFIX, 'the prefix of a base64 data: URL, up to its comma');
}

/** A URL with a scheme; a `data:` URL (the bytes themselves) may be as long as a text. */
function url(value: unknown, field: string): void {
  const data = typeof value === 'string' && /^data:/i.test(value);
  text(value, field, data ? EVENT_LIMITS.textChars : EVENT_LIMITS.urlChars);
  matching(value, field, URL_SCHEME, 'a URL with a scheme (https:, data:, blob: ...; not javascript:)');
}

function extra(value: unknown, field: string): void {
  if (value !== undefined) jsonObject(value, field, EVENT_LIMITS.jsonBytes);
}

/** Throws unless `value` is a valid content part (INVALID_ARGUMENT or INVALID_ID naming `field`'s bad field). */
export function assertContentPart(value: unknown, field: string): asserts value is ContentPart {
  const type = object(value, field).type;
  choice(type, `${field}.type`, PART_TYPES);
  const { keys, check } = PARTS[type];
  const o = fields(value, field, ['type', ...keys, 'extra']);
  check(o, field);
  extra(o.extra, `${field}.extra`);
}

function content(value: unknown, field: string): void {
  if (typeof value === 'string') {
    text(value, field, EVENT_LIMITS.textChars);
    return;
  }
  if (!Array.isArray(value)) throw invalid(field, 'must be a string or an array of parts');
  list(value, field, EVENT_LIMITS.parts);
  // forEach skips holes: the JSON value check reports those.
  value.forEach((p, i) => {
    assertContentPart(p, `${field}[${i}]`);
  });
}

function attachments(value: unknown, field: string): void {
  list(value, field, EVENT_LIMITS.attachments);
  value.forEach((a, i) => {
    const o = fields(a, `${field}[${i}]`, ['documentId', 'name', 'mediaType']);
    assertId(o.documentId, `${field}[${i}].documentId`);
    if (o.name !== undefined) label(o.name, `${field}[${i}].name`);
    if (o.mediaType !== undefined) mediaType(o.mediaType, `${field}[${i}].mediaType`);
  });
}

/** Throws unless `value` is valid message metadata (INVALID_ARGUMENT naming `field`'s bad field). */
export function assertMessageMetadata(value: unknown, field: string): asserts value is MessageMetadata {
  jsonObject(value, field, EVENT_LIMITS.metadataBytes);
  if (value.model !== undefined) label(value.model, `${field}.model`);
  if (value.finishReason !== undefined && value.finishReason !== null) label(value.finishReason, `${field}.finishReason`, 64);
  if (value.usage !== undefined) {
    const usage = object(value.usage, `${field}.usage`);
    for (const k of USAGE_FIELDS) if (usage[k] !== undefined) integer(usage[k], `${field}.usage.${k}`, 0);
  }
  if (value.entities !== undefined) entities(value.entities, `${field}.entities`);
}

function entities(value: unknown, field: string): void {
  list(value, field, ENTITY_LIMITS.items);
  value.forEach((e, i) => {
    const o = fields(e, `${field}[${i}]`, ['type', 'text']);
    label(o.type, `${field}[${i}].type`, ENTITY_LIMITS.typeChars);
    label(o.text, `${field}[${i}].text`, ENTITY_LIMITS.textChars);
  });
}

function messageBody(o: Record<string, unknown>): void {
  assertId(o.messageId, 'data.messageId');
  content(o.content, 'data.content');
  if (o.attachments !== undefined) attachments(o.attachments, 'data.attachments');
  if (o.metadata !== undefined) assertMessageMetadata(o.metadata, 'data.metadata');
  extra(o.extra, 'data.extra');
}

function validateMessageAdded(data: unknown): asserts data is MessageAdded {
  const o = fields(data, 'data', ['messageId', 'role', 'content', 'attachments', 'metadata', 'extra', 'createdAt']);
  label(o.role, 'data.role');
  messageBody(o);
  if (o.createdAt !== undefined) instant(o.createdAt, 'data.createdAt');
}

function validateMessageAddedV1(data: unknown): asserts data is MessageAddedV1 {
  const o = fields(data, 'data', ['messageId', 'role', 'content', 'model']);
  assertId(o.messageId, 'data.messageId');
  label(o.role, 'data.role');
  text(o.content, 'data.content', EVENT_LIMITS.textChars);
  if (o.model !== undefined) label(o.model, 'data.model');
}

/** v1 → v2: the model moves into the message metadata. */
function upcastMessageAddedV1({ model, ...rest }: MessageAddedV1): MessageAdded {
  return model === undefined ? rest : { ...rest, metadata: { model } };
}

function validateMessageEdited(data: unknown): asserts data is MessageEdited {
  const o = fields(data, 'data', ['messageId', 'content', 'attachments', 'metadata', 'extra']);
  messageBody(o.extra === null ? { ...o, extra: undefined } : o);
}

function validateMessageEditedV2(data: unknown): void {
  messageBody(fields(data, 'data', ['messageId', 'content', 'attachments', 'metadata', 'extra']));
}

function validateMessageTruncated(data: unknown): asserts data is MessageTruncated {
  const o = fields(data, 'data', ['after', 'messageIds']);
  if (o.after !== undefined) assertId(o.after, 'data.after');
  list(o.messageIds, 'data.messageIds', EVENT_LIMITS.messagesPerEvent);
  if (o.messageIds.length === 0) throw invalid('data.messageIds', 'must name at least one message');
  const seen = new Set<unknown>();
  o.messageIds.forEach((id, i) => {
    assertId(id, `data.messageIds[${i}]`);
    if (seen.has(id) || id === o.after) throw invalid(`data.messageIds[${i}]`, `repeats the message ${JSON.stringify(id)}`);
    seen.add(id);
  });
}

function validateMessageDeleted(data: unknown): asserts data is MessageDeleted {
  assertId(fields(data, 'data', ['messageId']).messageId, 'data.messageId');
}

export const messageEvents: Definitions<MessageEvents> = {
  'message.added': {
    version: 4,
    validate: validateMessageAdded,
    // The previous versions' payloads (but version 1's) are payloads of today's, whose rules only widened theirs.
    history: {
      1: { validate: validateMessageAddedV1, upcast: upcastMessageAddedV1 },
      2: { validate: validateMessageAdded, upcast: sameShape },
      3: { validate: validateMessageAdded, upcast: sameShape },
    },
  },
  'message.edited': {
    version: 3,
    validate: validateMessageEdited,
    history: { 1: { validate: validateMessageEditedV2, upcast: sameShape }, 2: { validate: validateMessageEditedV2, upcast: sameShape } },
  },
  'message.deleted': { version: 1, validate: validateMessageDeleted },
  'message.truncated': { version: 1, validate: validateMessageTruncated },
};
