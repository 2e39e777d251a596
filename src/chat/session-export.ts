import { describe, invalid } from '../kernel/validation.js';
import type { ChatStore } from './chat-store.js';
import type { ContentPart, Message } from './messages-api.js';

export type ExportFormat = 'json' | 'jsonl' | 'markdown';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['json', 'jsonl', 'markdown'];

/** Format tag of the JSON and JSONL exports, so a reader knows what it holds. */
const FORMAT = 'ffcdb.session-export/1';
const PAGE = 1000;

/**
 * A session (its messages, its documents' metadata and its context with the
 * whole history) as text chunks. Messages are read page by page, so memory
 * stays flat however long the session is. Bytes in JSON values are written as
 * `{ "$base64": "..." }`.
 */
export async function* exportSession(chat: ChatStore, sessionId: string, format: ExportFormat): AsyncGenerator<string> {
  if (!EXPORT_FORMATS.includes(format)) throw invalid('format', `must be one of ${EXPORT_FORMATS.join(', ')}; got ${describe(format)}`);
  const { position, ...session } = await chat.sessions.get(sessionId);
  const documents = (await chat.documents.list({ sessionId })).items;
  const context = await chat.context.get(sessionId);
  const snapshots = (await chat.context.snapshots(sessionId)).snapshots;
  const meta = { format: FORMAT, position, exportedFrom: 'flatfile-chat-db' };

  if (format === 'jsonl') {
    yield line({ kind: 'export', ...meta });
    yield line({ kind: 'session', ...session });
    for await (const m of messages(chat, sessionId)) yield line({ kind: 'message', ...m });
    for (const d of documents) yield line({ kind: 'document', ...d });
    for await (const c of contextHistory(chat, sessionId)) yield line({ kind: 'context-change', ...c });
    for (const s of snapshots) yield line({ kind: 'context-snapshot', ...s });
    yield line({ kind: 'context', context: context.context, version: context.version });
    return;
  }

  if (format === 'json') {
    yield `{"export":${json(meta)},"session":${json(session)},"messages":[`;
    let first = true;
    for await (const m of messages(chat, sessionId)) {
      yield (first ? '' : ',') + json(m);
      first = false;
    }
    yield `],"documents":${json(documents)},"context":{"current":${json(context.context)},"version":${context.version},"history":[`;
    first = true;
    for await (const c of contextHistory(chat, sessionId)) {
      yield (first ? '' : ',') + json(c);
      first = false;
    }
    yield `],"snapshots":${json(snapshots)}}}\n`;
    return;
  }

  yield `# ${escapeLine(session.title)}\n\n`;
  yield `- Session: \`${session.sessionId}\`\n- User: \`${session.userId}\`\n- Created: ${iso(session.createdAt)}\n`;
  if (session.tags.length > 0) yield `- Tags: ${session.tags.map((t) => `\`${t}\``).join(', ')}\n`;
  if (session.archived) yield '- Archived\n';
  yield `- Messages: ${session.messageCount}\n\n## Messages\n`;
  for await (const m of messages(chat, sessionId)) yield markdownMessage(m);
  if (documents.length > 0) {
    yield '\n## Documents\n\n| Name | Type | Size | SHA-256 | Uploaded |\n| --- | --- | --- | --- | --- |\n';
    for (const d of documents) yield `| ${cell(d.name ?? '')} | ${cell(d.mediaType)} | ${d.size} | \`${d.sha256}\` | ${iso(d.uploadedAt)} |\n`;
  }
  yield `\n## Context (version ${context.version})\n\n${fenced(json(context.context, 2), 'json')}`;
  if (context.version > 0) {
    yield '\n### History\n\n';
    for await (const c of contextHistory(chat, sessionId)) yield `- v${c.version} ${c.op} at ${iso(c.at)}: \`${escapeLine(json(c.value))}\`\n`;
  }
  if (snapshots.length > 0) {
    yield '\n### Snapshots\n\n';
    for (const s of snapshots) yield `- ${escapeLine(s.name)}: version ${s.version}, ${iso(s.at)}\n`;
  }
}

/** Inline bytes are shown as the document reference: the document is listed beside the messages. */
async function* messages(chat: ChatStore, sessionId: string): AsyncGenerator<Message> {
  let after: string | undefined;
  for (;;) {
    const page = await chat.messages.list(sessionId, after === undefined ? { limit: PAGE, inlineDocuments: false } : { limit: PAGE, after, inlineDocuments: false });
    yield* page.items;
    if (!page.hasMore || page.nextCursor === undefined) return;
    after = page.nextCursor;
  }
}

async function* contextHistory(chat: ChatStore, sessionId: string) {
  let fromVersion = 1;
  for (;;) {
    const page = await chat.context.history(sessionId, { fromVersion, limit: PAGE });
    yield* page.changes;
    if (!page.hasMore) return;
    fromVersion += page.changes.length;
  }
}

function markdownMessage(m: Message): string {
  const head = `\n### ${m.role} · ${iso(m.createdAt)}${m.revision > 1 ? ` (edited, revision ${m.revision})` : ''}\n\n`;
  const body = typeof m.content === 'string' ? `${closeFences(m.content)}\n` : m.content.map(markdownPart).join('\n');
  const attachments = m.attachments.length === 0 ? '' : `\nAttachments: ${m.attachments.map((a) => `\`${a.name ?? a.documentId}\``).join(', ')}\n`;
  return head + body + attachments;
}

function markdownPart(p: ContentPart): string {
  switch (p.type) {
    case 'text':
      return `${closeFences(p.text)}\n`;
    case 'reasoning':
      return `${p.text.split('\n').map((l) => `> ${l}`).join('\n')}\n`;
    case 'image':
    case 'file':
      return `[${p.type}: ${escapeLine(p.name ?? shownUrl(p.url) ?? p.documentId ?? '')}]\n`;
    case 'tool_call':
      return `Tool call ${code(p.name)} (${p.id}):\n\n${p.arguments === undefined ? '(arguments still streaming)\n' : fenced(json(p.arguments, 2), 'json')}`;
    case 'tool_result':
      return `Tool result for ${p.toolCallId}${p.isError ? ' (error)' : ''}:\n\n${fenced(json(p.content, 2), 'json')}`;
    case 'other':
      return `[${escapeLine(typeof p.extra.type === 'string' ? p.extra.type : 'part')}]\n`;
  }
}

/** A `data:` URL is the bytes themselves: its media type stands for it. */
function shownUrl(url: string | undefined): string | undefined {
  return url?.startsWith('data:') ? `${url.slice(0, Math.max(5, url.search(/[;,]/)))} URL` : url;
}

/** Inline code that any backtick in `s` cannot close. */
function code(s: string): string {
  const longest = Math.max(0, ...[...s.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return longest === 0 ? `\`${escapeLine(s)}\`` : `${ticks} ${escapeLine(s)} ${ticks}`;
}

/**
 * Message text is Markdown, shown as written; but a code fence it leaves open
 * (a reply cut off mid-code) would swallow the rest of the export, so it is
 * closed at the end of the text (fences as CommonMark reads them).
 */
function closeFences(text: string): string {
  let open: string | undefined;
  for (const line of text.split('\n')) {
    const fence = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (!fence) continue;
    const [, marks, rest] = fence as unknown as [string, string, string];
    if (open === undefined) {
      // A backtick fence's info string cannot hold a backtick: such a line opens nothing.
      if (marks[0] === '~' || !rest.includes('`')) open = marks;
    } else if (marks[0] === open[0] && marks.length >= open.length && rest.trim() === '') {
      open = undefined;
    }
  }
  return open === undefined ? text : `${text}\n${open}`;
}

/** A fence longer than any run of backticks inside, so content cannot close it. */
function fenced(text: string, lang: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${text}\n${fence}\n`;
}

function json(value: unknown, indent?: number): string {
  // The holder's own value, before Buffer#toJSON turns bytes into an array of numbers.
  return JSON.stringify(
    value,
    function (this: Record<string, unknown>, key: string, v: unknown) {
      const raw = this[key];
      return raw instanceof Uint8Array ? { $base64: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') } : v;
    },
    indent,
  );
}

function line(value: unknown): string {
  return `${json(value)}\n`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function escapeLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

function cell(s: string): string {
  return escapeLine(s).replace(/\|/g, '\\|');
}
