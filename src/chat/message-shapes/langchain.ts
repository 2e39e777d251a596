import type { ContentPart, TokenUsage } from '../../events/messages.js';
import { assertId, invalid, jsonValue } from '../../kernel/validation.js';
import type { JsonValue } from '../../kernel/types.js';
import { type JsonRecord, type MappedMessage, type StoredMessage, accepts, isRecord, typedOr, without, withExtra } from './shape-parts.js';

/**
 * LangChain.js messages ⇄ the store's message, losslessly, by their stored
 * form (`{ type, data }`: what `mapChatMessagesToStoredMessages` and
 * `message.toDict()` give and `mapStoredMessagesToChatMessages` takes back).
 * The role comes from the type (human → user, ai → assistant, system, tool,
 * or a ChatMessage's own role, case kept); text blocks and `image_url` blocks
 * become typed parts and any other block an `other` part; an AI message's
 * tool calls become tool_call parts and its usage the typed usage; a
 * ToolMessage's content is its tool_result. Everything else (name, id-less
 * calls, additional_kwargs, response_metadata, invalid_tool_calls, artifact,
 * usage details ...) is kept in `extra`. A string content stays a string, a
 * list stays a list. A message without an id gets the store's.
 */

/** A LangChain message in its stored form. */
export interface StoredLangChainMessage {
  type: string;
  data: { content: unknown; [key: string]: unknown };
}

const ROLE_OF: Readonly<Record<string, string>> = { human: 'user', ai: 'assistant', system: 'system', tool: 'tool' };
const TYPE_OF: Readonly<Record<string, string>> = { user: 'human', assistant: 'ai', system: 'system', tool: 'tool' };
/** The message extra's key saying a string content became parts (beside tool calls): no LangChain field starts with '$'. */
const STRING_CONTENT = '$content';

/** The message to pass to `chat.messages.add`. */
export function fromLangChain(message: StoredLangChainMessage): MappedMessage {
  const stored = jsonValue(message, 'message');
  if (!isRecord(stored) || typeof stored.type !== 'string' || !isRecord(stored.data)) throw invalid('message', 'must be a stored LangChain message: { type, data }');
  const { type, data } = stored;
  const role = ROLE_OF[type] ?? (typeof data.role === 'string' ? data.role : type);
  // Content that is neither a string nor a list (not LangChain's) is kept as given, with an empty text in its place.
  const listed = typeof data.content === 'string' || Array.isArray(data.content);
  const used = listed ? ['content'] : [];
  const extra: JsonRecord = {};
  if (ROLE_OF[type] === undefined && typeof data.role === 'string') used.push('role');
  if ((TYPE_OF[role] ?? 'generic') !== type) extra.type = type;
  const out: MappedMessage = { role, content: '' };
  if (accepts(assertId, data.id)) {
    out.messageId = data.id as string;
    used.push('id');
  }
  if (type === 'tool' && accepts(assertId, data.tool_call_id)) {
    const isError = data.status === 'error';
    out.content = [{ type: 'tool_result', toolCallId: data.tool_call_id as string, content: data.content ?? null, ...(isError && { isError }) }];
    used.push('tool_call_id', ...(isError ? ['status'] : []));
  } else if (listed) {
    const calls = toolCalls(data.tool_calls);
    if (calls) used.push('tool_calls');
    if (typeof data.content === 'string' && calls) extra[STRING_CONTENT] = 'string';
    if (typeof data.content === 'string' && !calls) out.content = data.content;
    else out.content = [...contentParts(typeof data.content === 'string' ? [{ type: 'text', text: data.content }] : (data.content as JsonValue[])), ...(calls ?? [])];
  }
  const usage = typedUsage(data.usage_metadata);
  if (usage) {
    out.metadata = { usage: usage.typed };
    used.push('usage_metadata');
    if (Object.keys(usage.rest).length > 0) extra.usage_metadata = usage.rest;
  }
  return withExtra(out, { ...without(data, ...used), ...extra });
}

/** The stored form of a stored message (one added with `fromLangChain` comes back as it was given). */
export function toLangChain(message: StoredMessage): StoredLangChainMessage {
  const extra = message.extra ?? {};
  const type = typeof extra.type === 'string' ? extra.type : (TYPE_OF[message.role] ?? 'generic');
  const data: JsonRecord = without(extra, 'type', STRING_CONTENT, 'usage_metadata');
  if (ROLE_OF[type] === undefined) data.role = message.role;
  if (!('id' in data)) data.id = message.messageId;
  const { content } = message;
  const only = Array.isArray(content) && content.length === 1 ? content[0] : undefined;
  if (type === 'tool' && only?.type === 'tool_result') {
    data.content = only.content;
    data.tool_call_id = only.toolCallId;
    if (only.isError) data.status = 'error';
  } else if ('content' in extra) {
    // Kept as given.
  } else if (typeof content === 'string') {
    data.content = content;
  } else {
    const calls = content.filter((p) => p.type === 'tool_call');
    const blocks = content.filter((p) => p.type !== 'tool_call').map(toBlock);
    if (calls.length > 0) data.tool_calls = calls.map((c) => ({ ...c.extra, name: c.name, args: c.arguments ?? {}, id: c.id }));
    data.content = extra[STRING_CONTENT] === 'string' && blocks.length === 1 ? (blocks[0]!.text as string) : blocks;
  }
  const usage = message.metadata?.usage;
  if (usage) {
    const rest = isRecord(extra.usage_metadata) ? extra.usage_metadata : {};
    data.usage_metadata = { input_tokens: usage.inputTokens ?? 0, output_tokens: usage.outputTokens ?? 0, total_tokens: usage.totalTokens ?? 0, ...rest };
  } else if (extra.usage_metadata !== undefined) {
    data.usage_metadata = extra.usage_metadata;
  }
  return { type, data: data as StoredLangChainMessage['data'] };
}

/** Tool calls as tool_call parts, when there are some and every one has an id and name the store takes; else undefined (they are kept as given). */
function toolCalls(value: JsonValue | undefined): ContentPart[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const parts: ContentPart[] = [];
  for (const call of value) {
    if (!isRecord(call)) return undefined;
    const part = withExtra({ type: 'tool_call' as const, id: call.id as string, name: call.name as string, arguments: call.args ?? null }, without(call, 'id', 'name', 'args'));
    if (call.args === undefined || typedOr(part, call).type === 'other') return undefined;
    parts.push(part);
  }
  return parts;
}

/** The key of an `other` part's extra holding a list item that is not an object. */
const NOT_AN_OBJECT = '$item';

function contentParts(blocks: JsonValue[]): ContentPart[] {
  return blocks.map((b): ContentPart => {
    if (!isRecord(b)) return { type: 'other', extra: { [NOT_AN_OBJECT]: b } };
    if (b.type === 'text') return typedOr(withExtra({ type: 'text', text: b.text as string }, without(b, 'type', 'text')), b);
    if (b.type === 'image_url') {
      const given = b.image_url;
      const url = isRecord(given) ? given.url : given;
      const rest = without(b, 'type', 'image_url');
      // The object form ({ url, detail }) keeps its other keys; the string form keeps nothing.
      if (isRecord(given)) rest.image_url = without(given, 'url');
      return typedOr(withExtra({ type: 'image', url: url as string }, rest), b);
    }
    return { type: 'other', extra: b };
  });
}

function toBlock(p: ContentPart): JsonRecord {
  const extra = p.extra ?? {};
  switch (p.type) {
    case 'text':
    case 'reasoning':
      return { ...extra, type: 'text', text: p.text };
    case 'image':
    case 'file': {
      const url = p.url ?? p.documentId ?? '';
      return { ...extra, type: 'image_url', image_url: isRecord(extra.image_url) ? { ...extra.image_url, url } : url };
    }
    case 'tool_result':
      return { ...extra, type: 'tool_result', tool_call_id: p.toolCallId, content: p.content };
    case 'other':
      return NOT_AN_OBJECT in extra ? (extra[NOT_AN_OBJECT] as JsonRecord) : extra;
    default:
      return extra;
  }
}

/** LangChain's usage_metadata as the typed usage figures and the rest (the token details), when its figures are whole numbers. */
function typedUsage(value: JsonValue | undefined): { typed: TokenUsage; rest: JsonRecord } | undefined {
  if (!isRecord(value)) return undefined;
  const { input_tokens: input, output_tokens: output, total_tokens: total } = value;
  const whole = (n: JsonValue | undefined) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (!whole(input) || !whole(output) || !whole(total)) return undefined;
  return { typed: { inputTokens: input as number, outputTokens: output as number, totalTokens: total as number }, rest: without(value, 'input_tokens', 'output_tokens', 'total_tokens') };
}
