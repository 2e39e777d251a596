import { assertId, invalid } from '../kernel/validation.js';
import type { JsonValue } from '../kernel/types.js';
import type { Definitions } from './definition.js';
import type { Entity } from './documents.js';
import { choice, fields, flag, integer, json, jsonObject, label, list, matching, mediaType, object, text } from './fields.js';
import { EVENT_LIMITS } from './limits.js';

/** The well-known roles, or any role an app names (lowercase letters, digits, '_' and '-', up to 32). */
export type Role = 'system' | 'user' | 'assistant' | 'tool' | (string & {});
const ROLE = /^[a-z][a-z0-9_-]{0,31}$/;

export interface TextPart {
  type: 'text';
  text: string;
}

/** An image or file: a stored document, or an http(s) URL. Exactly one of `documentId` and `url`. */
export interface ReferencePart {
  type: 'image' | 'file';
  documentId?: string;
  url?: string;
  mediaType?: string;
  name?: string;
}

export interface ToolCallPart {
  type: 'tool_call';
  /** The id the model gave the call; its tool_result names it. */
  id: string;
  name: string;
  arguments: JsonValue;
}

export interface ToolResultPart {
  type: 'tool_result';
  toolCallId: string;
  content: JsonValue;
  isError?: boolean;
}

export interface ReasoningPart {
  type: 'reasoning';
  text: string;
}

export type ContentPart = TextPart | ReferencePart | ToolCallPart | ToolResultPart | ReasoningPart;

export interface Attachment {
  documentId: string;
  name?: string;
  mediaType?: string;
}

export interface TokenUsage {
  inputTokens?: number;
  outputTokens?: number;
  reasoningTokens?: number;
  cachedTokens?: number;
  totalTokens?: number;
}

/** Known fields are checked; any other field is free JSON. */
export interface MessageMetadata {
  model?: string;
  usage?: TokenUsage;
  /** As the provider says it: stop, length, tool_calls, end_turn, MAX_TOKENS ... */
  finishReason?: string;
  /** People, places, ids ... the message names, as the app found them; search finds the message by them. */
  entities?: Entity[];
  [field: string]: JsonValue | TokenUsage | Entity[] | undefined;
}

/** Schema version 2. The chat API generates `messageId` (a ULID) unless the caller gives one. */
export interface MessageAdded {
  messageId: string;
  role: Role;
  content: string | ContentPart[];
  attachments?: Attachment[];
  metadata?: MessageMetadata;
}

/** Version 1: plain-text content, the model beside it. */
export interface MessageAddedV1 {
  messageId: string;
  role: Role;
  content: string;
  model?: string;
}

/** A new version of a message's content; earlier versions stay in the log. Attachments and metadata left out stay as they were. */
export type MessageEdited = Omit<MessageAdded, 'role'>;

export interface MessageDeleted {
  messageId: string;
}

export interface MessageEvents {
  'message.added': MessageAdded;
  'message.edited': MessageEdited;
  'message.deleted': MessageDeleted;
}

const TOOL_NAME = /^[A-Za-z0-9_.:/-]{1,128}$/;
const FINISH_REASON = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const HTTP_URL = /^https?:\/\/\S+$/i;
const USAGE_FIELDS = ['inputTokens', 'outputTokens', 'reasoningTokens', 'cachedTokens', 'totalTokens'];
/** Metadata entities: a message names a few, unlike a document's analysis. */
const ENTITY_LIMITS = { items: 100, typeChars: 32, textChars: 200 } as const;

const PARTS: Record<ContentPart['type'], { keys: readonly string[]; check(o: Record<string, unknown>, field: string): void }> = {
  text: { keys: ['text'], check: (o, f) => text(o.text, `${f}.text`, EVENT_LIMITS.textChars) },
  image: { keys: ['documentId', 'url', 'mediaType', 'name'], check: reference },
  file: { keys: ['documentId', 'url', 'mediaType', 'name'], check: reference },
  tool_call: {
    keys: ['id', 'name', 'arguments'],
    check(o, f) {
      assertId(o.id, `${f}.id`);
      matching(o.name, `${f}.name`, TOOL_NAME, "a tool name (1-128 of A-Z, a-z, 0-9, '_', '.', ':', '/', '-')");
      json(o.arguments, `${f}.arguments`, EVENT_LIMITS.jsonBytes);
    },
  },
  tool_result: {
    keys: ['toolCallId', 'content', 'isError'],
    check(o, f) {
      assertId(o.toolCallId, `${f}.toolCallId`);
      json(o.content, `${f}.content`, EVENT_LIMITS.jsonBytes);
      if (o.isError !== undefined) flag(o.isError, `${f}.isError`);
    },
  },
  reasoning: { keys: ['text'], check: (o, f) => text(o.text, `${f}.text`, EVENT_LIMITS.textChars) },
};
const PART_TYPES = Object.keys(PARTS) as ContentPart['type'][];

function reference(o: Record<string, unknown>, f: string): void {
  if ((o.documentId === undefined) === (o.url === undefined)) throw invalid(f, 'must give exactly one of documentId and url');
  if (o.documentId !== undefined) assertId(o.documentId, `${f}.documentId`);
  if (o.url !== undefined) {
    text(o.url, `${f}.url`, EVENT_LIMITS.urlChars);
    matching(o.url, `${f}.url`, HTTP_URL, 'an http or https URL');
  }
  if (o.mediaType !== undefined) mediaType(o.mediaType, `${f}.mediaType`);
  if (o.name !== undefined) label(o.name, `${f}.name`);
}

function part(value: unknown, field: string): void {
  const type = object(value, field).type;
  choice(type, `${field}.type`, PART_TYPES);
  const { keys, check } = PARTS[type];
  check(fields(value, field, ['type', ...keys]), field);
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
    part(p, `${field}[${i}]`);
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

function metadata(value: unknown, field: string): void {
  jsonObject(value, field, EVENT_LIMITS.metadataBytes);
  if (value.model !== undefined) label(value.model, `${field}.model`);
  if (value.finishReason !== undefined) matching(value.finishReason, `${field}.finishReason`, FINISH_REASON, 'a finish reason such as "stop"');
  if (value.usage !== undefined) {
    const usage = fields(value.usage, `${field}.usage`, USAGE_FIELDS);
    for (const [k, n] of Object.entries(usage)) integer(n, `${field}.usage.${k}`, 0);
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
  if (o.metadata !== undefined) metadata(o.metadata, 'data.metadata');
}

function role(value: unknown, field: string): void {
  matching(value, field, ROLE, "a role: system, user, assistant, tool, or 1-32 of a-z, 0-9, '_', '-' starting with a letter");
}

function validateMessageAdded(data: unknown): asserts data is MessageAdded {
  const o = fields(data, 'data', ['messageId', 'role', 'content', 'attachments', 'metadata']);
  role(o.role, 'data.role');
  messageBody(o);
}

function validateMessageAddedV1(data: unknown): asserts data is MessageAddedV1 {
  const o = fields(data, 'data', ['messageId', 'role', 'content', 'model']);
  assertId(o.messageId, 'data.messageId');
  role(o.role, 'data.role');
  text(o.content, 'data.content', EVENT_LIMITS.textChars);
  if (o.model !== undefined) label(o.model, 'data.model');
}

/** v1 → v2: the model moves into the message metadata. */
function upcastMessageAddedV1({ model, ...rest }: MessageAddedV1): MessageAdded {
  return model === undefined ? rest : { ...rest, metadata: { model } };
}

function validateMessageEdited(data: unknown): asserts data is MessageEdited {
  messageBody(fields(data, 'data', ['messageId', 'content', 'attachments', 'metadata']));
}

function validateMessageDeleted(data: unknown): asserts data is MessageDeleted {
  assertId(fields(data, 'data', ['messageId']).messageId, 'data.messageId');
}

export const messageEvents: Definitions<MessageEvents> = {
  'message.added': {
    version: 2,
    validate: validateMessageAdded,
    history: { 1: { validate: validateMessageAddedV1, upcast: upcastMessageAddedV1 } },
  },
  'message.edited': { version: 1, validate: validateMessageEdited },
  'message.deleted': { version: 1, validate: validateMessageDeleted },
};
