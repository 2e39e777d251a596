import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { AIMessage, type BaseMessage, ChatMessage, HumanMessage, SystemMessage, ToolMessage, mapChatMessagesToStoredMessages, mapStoredMessagesToChatMessages } from '@langchain/core/messages';
import { type UIMessage, safeValidateUIMessages, validateUIMessages } from 'ai';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { postgresBackend } from '../../src/backends/postgres/connect.js';
import { type ChatStore, openChatStore } from '../../src/chat/chat-store.js';
import { fromUIMessage, toUIMessage } from '../../src/chat/message-shapes/ai-sdk.js';
import { type StoredLangChainMessage, fromLangChain, toLangChain } from '../../src/chat/message-shapes/langchain.js';
import type { Message } from '../../src/chat/messages-api.js';
import { exportStore } from '../../src/export/export-store.js';
import { importToFolder } from '../../src/export/import-store.js';
import { FileBlobStore } from '../../src/blobs/file-blob-store.js';
import type { JsonValue } from '../../src/kernel/types.js';
import { TEST_POSTGRES, dropSchema, uniqueSchema } from '../../test/support/postgres.js';
import fc from '../support/fc-setup.js';
import { text } from '../support/json.js';
import { withTempDir } from '../support/temp.js';

/**
 * The message model round-trips both frameworks losslessly: random AI SDK
 * UIMessages (every part type, every tool state) and LangChain messages
 * (every class, every field), mapped with fromUIMessage / fromLangChain,
 * stored, the store closed and reopened, read and mapped back, deep-equal
 * what was given as JSON writes it; on the flatfile and PostgreSQL backends,
 * and again after an export and an import of the whole store.
 */

const test = suite('property: messages round-trip the AI SDK and LangChain');
// The SDK warns of deprecated fields (rawInput) it still accepts: generated on purpose.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

// ---------- arbitraries ----------

const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('constructor', 'toString', '0', 'type', 'extra', '$content')).filter((k) => k !== '__proto__');
const json: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d)),
    text(),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(key, tie('value'), { maxKeys: 3, noNullPrototype: true }),
  ),
})).value;
const jsonObject = fc.dictionary(key, json, { maxKeys: 3, noNullPrototype: true });
/** Provider metadata, an Anthropic reasoning signature among them. */
const providerMetadata = fc.oneof(jsonObject.map((o) => ({ custom: o })), fc.string({ minLength: 1, maxLength: 40 }).map((signature) => ({ anthropic: { signature } })));
/** Ids as apps write them: some the store takes as ids, some it keeps as given. */
const callId = fc.oneof(fc.stringMatching(/^call_[A-Za-z0-9]{1,12}$/), fc.constantFrom('call abc/1', 'toolu_01A', 'x'));
const toolName = fc.constantFrom('weather', 'get weather', 'search.web', 'Ünïcode tool', 'a:b/c', '');
const url = fc.constantFrom(
  'https://example.com/a.png',
  'data:text/plain;charset=utf-8;base64,aGVsbG8=',
  'data:image/png;base64,iVBORw0KGgo=',
  'blob:https://app.example/6f1c-4b2a',
  'not a url',
);
const mediaType = fc.constantFrom('image/png', 'text/plain; charset=utf-8', 'application/pdf', 'application/x.custom+json; a="b c"', 'weird');
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
/** An optional field: absent, present, or present as undefined (which the JSON rule drops). */
const opt = <T>(arb: fc.Arbitrary<T>) => fc.oneof(fc.constant(undefined), arb);

const state = maybe(fc.constantFrom('streaming', 'done'));
const textPart = fc.record({ type: fc.constant('text'), text: text(30), state, providerMetadata: maybe(providerMetadata) }, { requiredKeys: ['type', 'text'] });
const reasoningPart = fc.record({ type: fc.constant('reasoning'), text: text(30), state, providerMetadata: maybe(providerMetadata) }, { requiredKeys: ['type', 'text'] });
const approval = (approved: boolean | undefined) =>
  fc.record(
    { id: fc.stringMatching(/^ap_[a-z0-9]{1,6}$/), ...(approved === undefined ? {} : { approved: fc.constant(approved), reason: maybe(text(10)) }), isAutomatic: maybe(fc.boolean()) },
    { requiredKeys: approved === undefined ? ['id'] : ['id', 'approved'] } as never,
  );

/** The fields of one tool state (beside toolCallId and the type). */
const toolState = fc.oneof(
  fc.record({ state: fc.constant('input-streaming'), input: opt(json), rawInput: maybe(text(10)) }, { requiredKeys: ['state'] }),
  fc.record({ state: fc.constant('input-available'), input: json }),
  fc.record({ state: fc.constant('approval-requested'), input: json, approval: approval(undefined) }),
  fc.record({ state: fc.constant('approval-responded'), input: json, approval: approval(true) }),
  fc.record({ state: fc.constant('approval-responded'), input: json, approval: approval(false) }),
  fc.record({ state: fc.constant('output-available'), input: json, output: json, preliminary: maybe(fc.boolean()), resultProviderMetadata: maybe(providerMetadata) }, { requiredKeys: ['state', 'input', 'output'] }),
  fc.record({ state: fc.constant('output-error'), input: json, errorText: text(20), rawInput: maybe(json) }, { requiredKeys: ['state', 'input', 'errorText'] }),
  fc.record({ state: fc.constant('output-denied'), input: json, approval: approval(false) }),
);
const toolCommon = fc.record({ toolCallId: callId, providerExecuted: maybe(fc.boolean()), callProviderMetadata: maybe(providerMetadata), title: maybe(text(10)) }, { requiredKeys: ['toolCallId'] });
const toolPart = fc.tuple(toolName, toolCommon, toolState).map(([name, common, s]) => ({ type: `tool-${name}`, ...common, ...s }));
const dynamicToolPart = fc.tuple(toolName, toolCommon, toolState).map(([name, common, s]) => ({ type: 'dynamic-tool', toolName: name, ...common, ...s }));
const sourceUrlPart = fc.record({ type: fc.constant('source-url'), sourceId: text(8), url, title: maybe(text(10)), providerMetadata: maybe(providerMetadata) }, { requiredKeys: ['type', 'sourceId', 'url'] });
const sourceDocumentPart = fc.record({ type: fc.constant('source-document'), sourceId: text(8), mediaType, title: text(10), filename: maybe(text(10)) }, { requiredKeys: ['type', 'sourceId', 'mediaType', 'title'] });
const filePart = fc.record({ type: fc.constant('file'), mediaType, url, filename: maybe(fc.oneof(text(12), fc.constant(''))), providerMetadata: maybe(providerMetadata) }, { requiredKeys: ['type', 'mediaType', 'url'] });
const stepStartPart = fc.constant({ type: 'step-start' });
const dataPart = fc.record({ type: fc.constantFrom('data-weather', 'data-Notice'), id: maybe(text(6)), data: json, transient: maybe(fc.boolean()) }, { requiredKeys: ['type', 'data'] });

/** Any part, sometimes with a key the SDK does not define (providerOptions). */
const uiPart = fc
  .tuple(fc.oneof(textPart, reasoningPart, toolPart, dynamicToolPart, sourceUrlPart, sourceDocumentPart, filePart, stepStartPart, dataPart), maybe(jsonObject))
  .map(([p, providerOptions]) => (providerOptions ? { ...p, providerOptions } : p));

const usage = fc.record(
  {
    inputTokens: opt(fc.nat(10_000)),
    outputTokens: opt(fc.nat(10_000)),
    totalTokens: opt(fc.nat(20_000)),
    reasoningTokens: opt(fc.nat(100)),
    cachedInputTokens: maybe(fc.nat(100)),
    inputTokenDetails: maybe(fc.record({ noCacheTokens: fc.nat(100), cacheReadTokens: fc.nat(100), cacheWriteTokens: opt(fc.nat(100)) })),
  },
  { requiredKeys: [] },
);
const uiMetadata = fc.oneof(
  fc.constant(undefined),
  fc.record({ model: maybe(fc.constantFrom('gpt-5', 'claude-x')), usage: maybe(usage), finishReason: maybe(fc.constantFrom(null, 'stop', 'tool-calls')), createdAt: maybe(fc.nat()) }, { requiredKeys: [] }),
  json,
);

const uiMessage = (id: string) =>
  fc.record({ id: fc.constant(id), role: fc.constantFrom('system', 'user', 'assistant'), metadata: uiMetadata, parts: fc.array(uiPart, { minLength: 1, maxLength: 6 }) }).map((m) => {
    if (m.metadata === undefined) delete (m as { metadata?: unknown }).metadata;
    return m as unknown as UIMessage;
  });

const content = fc.oneof(
  text(30),
  fc.array(
    fc.oneof(
      fc.record({ type: fc.constant('text'), text: text(20) }),
      fc.record({ type: fc.constant('image_url'), image_url: fc.oneof(url, fc.record({ url, detail: maybe(fc.constantFrom('auto', 'low', 'high')) }, { requiredKeys: ['url'] })) }),
      fc.record({ type: fc.constant('thinking'), thinking: text(10), signature: text(8) }),
    ),
    { maxLength: 3 },
  ),
);
const kwargs = { name: maybe(text(8)), additional_kwargs: maybe(jsonObject), response_metadata: maybe(jsonObject) };
const lcToolCall = fc.record({ name: toolName, args: jsonObject, id: callId, type: fc.constant('tool_call' as const) });
const lcMessage = (id: string): fc.Arbitrary<BaseMessage> =>
  fc.oneof(
    fc.record({ content, ...kwargs }, { requiredKeys: ['content'] }).map((f) => new HumanMessage({ ...f, id } as never)),
    fc.record({ content, ...kwargs }, { requiredKeys: ['content'] }).map((f) => new SystemMessage({ ...f, id } as never)),
    fc
      .record(
        {
          content,
          ...kwargs,
          tool_calls: maybe(fc.array(lcToolCall, { maxLength: 3 })),
          invalid_tool_calls: maybe(fc.array(fc.record({ name: toolName, args: text(8), id: callId, error: text(8), type: fc.constant('invalid_tool_call' as const) }), { maxLength: 2 })),
          usage_metadata: maybe(
            fc.record(
              {
                input_tokens: fc.nat(1000),
                output_tokens: fc.nat(1000),
                total_tokens: fc.nat(2000),
                input_token_details: maybe(fc.record({ audio: maybe(fc.nat(9)), cache_read: maybe(fc.nat(9)), cache_creation: maybe(fc.nat(9)) }, { requiredKeys: [] })),
                output_token_details: maybe(fc.record({ audio: maybe(fc.nat(9)), reasoning: maybe(fc.nat(9)) }, { requiredKeys: [] })),
              },
              { requiredKeys: ['input_tokens', 'output_tokens', 'total_tokens'] },
            ),
          ),
        },
        { requiredKeys: ['content'] },
      )
      .map((f) => new AIMessage({ ...f, id } as never)),
    fc
      .record({ content, ...kwargs, tool_call_id: callId, artifact: maybe(json), status: maybe(fc.constantFrom('success', 'error')) }, { requiredKeys: ['content', 'tool_call_id'] })
      .map((f) => new ToolMessage({ ...f, id } as never)),
    fc.record({ content, ...kwargs, role: fc.constantFrom('Critic', 'developer', 'user', 'narrator 2') }, { requiredKeys: ['content', 'role'] }).map((f) => new ChatMessage({ ...f, id } as never)),
  );

const batch = fc.record({
  ui: fc.integer({ min: 0, max: 4 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => uiMessage(`ui-${i}`)))),
  lc: fc.integer({ min: 0, max: 4 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => lcMessage(`lc-${i}`)))),
});

// ---------- the property ----------

/**
 * Deep equality as node:util has it (uvu's assert.equal takes an own
 * `constructor` key, which the JSON generated here may hold, for the class),
 * naming the first difference on failure.
 */
function same(actual: unknown, expected: unknown, message: string): void {
  if (!isDeepStrictEqual(actual, expected)) assert.unreachable(`${message} differ at ${firstDiff(actual, expected, '')}`);
}

/** The path of the first place `a` and `b` differ, and how. */
function firstDiff(a: unknown, b: unknown, at: string): string | undefined {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${at}: prototypes`;
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDiff((a as never)[k], (b as never)[k], `${at}.${k}`);
      if (d) return d;
    }
    return `${at}: ?`;
  }
  return `${at}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

/** What was given, as JSON writes it: the rule the store keeps values by. */
const asJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

interface Expected {
  sessionId: string;
  ui: UIMessage[];
  /** Whether the AI SDK takes the given UI messages as valid: then it must take them back as read. */
  uiValid: boolean;
  lc: StoredLangChainMessage[];
}

/** Reads every expected session back and checks it deep-equals what was given. */
async function check(chat: ChatStore, expected: readonly Expected[], where: string): Promise<void> {
  for (const e of expected) {
    const all: Message[] = (await chat.messages.list(e.sessionId, { limit: 100 })).items;
    const ui = all.filter((m) => m.messageId.startsWith('ui-')).map(toUIMessage);
    const lc = all.filter((m) => m.messageId.startsWith('lc-')).map(toLangChain);
    same(ui, asJson(e.ui), `${where}: UI messages of ${e.sessionId}`);
    same(lc, asJson(e.lc), `${where}: LangChain messages of ${e.sessionId}`);
    // The frameworks take them back: the SDK validates them, LangChain makes the same classes of them.
    if (e.uiValid) await validateUIMessages({ messages: ui as UIMessage[] });
    const classes = mapStoredMessagesToChatMessages(lc as never);
    same(mapChatMessagesToStoredMessages(classes).map(asJson), asJson(e.lc), `${where}: LangChain classes of ${e.sessionId}`);
  }
}

/** How many batches of UI messages the SDK itself took as valid: the SDK check is not vacuous. */
const seen = { sdkValid: 0 };

/**
 * Runs the property on a store that `open` opens (again, after each batch: the
 * reopen), then exports and imports it with its blobs (in `blobRoot`: inline
 * bytes, data: URLs among them, are documents).
 */
async function roundTrips(open: () => Promise<ChatStore>, exportTo: string, runs: number, blobRoot: string): Promise<void> {
  const expected: Expected[] = [];
  let n = 0;
  let chat = await open();
  await chat.users.create({ userId: 'u' });
  try {
    await fc.assert(
      fc.asyncProperty(batch, async ({ ui, lc }) => {
        const sessionId = `s${++n}`;
        await chat.sessions.create({ userId: 'u', sessionId, title: 'round trip' });
        const stored = (lc as BaseMessage[]).length > 0 ? (mapChatMessagesToStoredMessages(lc as BaseMessage[]) as unknown as StoredLangChainMessage[]) : [];
        const given = [...(ui as UIMessage[]).map((m) => fromUIMessage(m as never)), ...stored.map(fromLangChain)];
        if (given.length > 0) await chat.messages.add(sessionId, given as never);
        const uiValid = ui.length > 0 && (await safeValidateUIMessages({ messages: ui as UIMessage[] })).success;
        if (uiValid) seen.sdkValid++;
        const e = { sessionId, ui: ui as UIMessage[], uiValid, lc: stored };
        await chat.close();
        chat = await open();
        await check(chat, [e], 'after reopen');
        expected.push(e);
      }),
      { numRuns: runs },
    );
    // Export and import the whole store: every message reads back the same.
    const blobs = new FileBlobStore(blobRoot);
    await exportStore({ events: chat.events, blobs }, path.join(exportTo, 'export'));
    await blobs.close();
    await importToFolder(path.join(exportTo, 'imported'), path.join(exportTo, 'export'));
    const imported = await openChatStore({ dir: path.join(exportTo, 'imported'), durability: 'none' });
    try {
      await check(imported, expected, 'after export and import');
    } finally {
      await imported.close();
    }
  } finally {
    await chat.close();
  }
}

test('flatfile: store, reopen, read; export and import', () =>
  withTempDir('message-model', (dir) => roundTrips(() => openChatStore({ dir: path.join(dir, 'store'), durability: 'none' }), dir, 40, path.join(dir, 'store'))));

if (TEST_POSTGRES) {
  test('PostgreSQL: store, reopen, read; export and import', async () => {
    const schema = uniqueSchema('ffcdb_msg');
    try {
      await withTempDir('message-model-pg', (dir) => {
        const blobRoot = path.join(dir, 'blobs');
        return roundTrips(() => openChatStore({ backend: postgresBackend({ connectionString: TEST_POSTGRES!, schema }), blobs: new FileBlobStore(blobRoot) }), dir, 25, blobRoot);
      });
    } finally {
      await dropSchema(schema);
    }
  });
} else {
  console.log('  message model on PostgreSQL: SKIPPED, no PostgreSQL server (set FFCDB_TEST_POSTGRES to run it)');
}

test('the SDK took some generated batches as valid', () => {
  assert.ok(seen.sdkValid > 0, `valid batches: ${seen.sdkValid}`);
});

test.run();
