import { label, mediaType } from '../../events/fields.js';
import { type ContentPart, assertMessageMetadata } from '../../events/messages.js';
import { assertId, invalid, jsonValue } from '../../kernel/validation.js';
import { type JsonRecord, type MappedMessage, type StoredMessage, accepts, isRecord, typedOr, without, withExtra } from './shape-parts.js';

/**
 * The Vercel AI SDK's `UIMessage` (ai v5 and later) ⇄ the store's message,
 * losslessly: `toUIMessage(fromUIMessage(m))` deep-equals `m` as JSON writes
 * it. Text and reasoning parts, files, and tool parts (a call, and its result
 * once there is one) become typed parts; their other keys (state,
 * providerMetadata, approval ...) and every other part (sources, step-start,
 * data-*) are kept in `extra`. The SDK is not imported: these are its shapes
 * as plain data.
 */

/** A `UIMessage` as plain data. */
export interface UIMessageLike {
  id: string;
  role: string;
  metadata?: unknown;
  parts: readonly { type: string }[];
}

/** The message to pass to `chat.messages.add`; the UI message's id becomes the message id. */
export function fromUIMessage(message: UIMessageLike): MappedMessage {
  const ui = jsonValue(message, 'message');
  if (!isRecord(ui)) throw invalid('message', 'must be a UI message object');
  if (typeof ui.role !== 'string') throw invalid('message.role', 'must be a string');
  if (!Array.isArray(ui.parts)) throw invalid('message.parts', 'must be an array of parts');
  const parts = ui.parts.map((p, i) => {
    if (!isRecord(p)) throw invalid(`message.parts[${i}]`, 'must be an object');
    return p;
  });
  const out: MappedMessage = { role: ui.role, content: parts.flatMap(fromUIPart) };
  const kept = ['role', 'parts'];
  if (accepts(assertId, ui.id)) {
    out.messageId = ui.id as string;
    kept.push('id');
  }
  // Metadata that fits the store's typed fields is the message's metadata; anything else (a string, {}) is kept as given.
  if (isRecord(ui.metadata) && Object.keys(ui.metadata).length > 0 && accepts(assertMessageMetadata, ui.metadata)) {
    out.metadata = ui.metadata;
    kept.push('metadata');
  }
  return withExtra(out, without(ui, ...kept));
}

/** The `UIMessage` of a stored message (one added with `fromUIMessage` comes back as it was given). */
export function toUIMessage(message: StoredMessage): UIMessageLike {
  const extra = message.extra ?? {};
  const ui: JsonRecord = { ...without(extra, 'id', 'metadata'), id: 'id' in extra ? extra.id! : message.messageId, role: message.role, parts: toUIParts(message.content) };
  if ('metadata' in extra) ui.metadata = extra.metadata!;
  else if (message.metadata && Object.keys(message.metadata).length > 0) ui.metadata = message.metadata as JsonRecord;
  return ui as unknown as UIMessageLike;
}

function fromUIPart(p: JsonRecord): ContentPart[] {
  const type = p.type;
  if (type === 'text' || type === 'reasoning') return [typedOr(withExtra({ type, text: p.text as string }, without(p, 'type', 'text')), p)];
  if (type === 'file') {
    const typed = accepts(mediaType, p.mediaType);
    const named = accepts(label, p.filename);
    const part = {
      type: 'file' as const,
      url: p.url as string,
      ...(typed && { mediaType: p.mediaType as string }),
      ...(named && { name: p.filename as string }),
    };
    return [typedOr(withExtra(part, without(p, 'type', 'url', ...(typed ? ['mediaType'] : []), ...(named ? ['filename'] : []))), p)];
  }
  if (type === 'dynamic-tool' || (typeof type === 'string' && type.startsWith('tool-'))) return toolParts(p, type === 'dynamic-tool');
  return [{ type: 'other', extra: p }];
}

/** A tool part: its call, and its result when it has one (output, or an error's text). */
function toolParts(p: JsonRecord, dynamic: boolean): ContentPart[] {
  const name = dynamic ? p.toolName : (p.type as string).slice('tool-'.length);
  const used = ['toolCallId', 'input', dynamic ? 'toolName' : 'type'];
  const call = { type: 'tool_call' as const, id: p.toolCallId as string, name: name as string, ...(p.input !== undefined && { arguments: p.input }) };
  let result: ContentPart | undefined;
  if (p.state === 'output-available' && p.output !== undefined) {
    result = { type: 'tool_result', toolCallId: call.id, content: p.output };
    used.push('output');
  } else if (p.state === 'output-error' && typeof p.errorText === 'string') {
    result = { type: 'tool_result', toolCallId: call.id, content: p.errorText, isError: true };
    used.push('errorText');
  }
  const parts = [withExtra(call, without(p, ...used)), ...(result ? [result] : [])];
  const typed = parts.map((part) => typedOr(part, p));
  return typed.some((t) => t.type === 'other') ? [{ type: 'other', extra: p }] : typed;
}

function toUIParts(content: StoredMessage['content']): JsonRecord[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  const out: JsonRecord[] = [];
  for (let i = 0; i < content.length; i++) {
    const p = content[i]!;
    const extra = p.extra ?? {};
    switch (p.type) {
      case 'text':
      case 'reasoning':
        out.push({ ...extra, type: p.type, text: p.text });
        break;
      case 'image':
      case 'file':
        out.push({
          ...extra,
          type: 'file',
          url: p.url ?? p.documentId ?? '',
          ...(p.mediaType !== undefined && { mediaType: p.mediaType }),
          ...(p.name !== undefined && { filename: p.name }),
        });
        break;
      case 'tool_call': {
        const next = content[i + 1];
        const result = next?.type === 'tool_result' && next.toolCallId === p.id ? next : undefined;
        if (result) i++;
        out.push(toolPart(p, result));
        break;
      }
      case 'tool_result':
        // A result without its call in this message has no UI part of its own.
        out.push({ ...extra, type: 'data-tool-result', data: { toolCallId: p.toolCallId, content: p.content, ...(p.isError !== undefined && { isError: p.isError }) } });
        break;
      case 'other':
        out.push(extra);
        break;
    }
  }
  return out;
}

function toolPart(call: Extract<ContentPart, { type: 'tool_call' }>, result: Extract<ContentPart, { type: 'tool_result' }> | undefined): JsonRecord {
  const extra = call.extra ?? {};
  const dynamic = extra.type === 'dynamic-tool';
  const part: JsonRecord = { ...extra, type: dynamic ? 'dynamic-tool' : `tool-${call.name}`, toolCallId: call.id };
  if (dynamic) part.toolName = call.name;
  if (call.arguments !== undefined) part.input = call.arguments;
  if (result?.isError) part.errorText = result.content;
  else if (result) part.output = result.content;
  part.state ??= result ? (result.isError ? 'output-error' : 'output-available') : 'input-available';
  return part;
}
