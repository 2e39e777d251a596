import { AIMessage, HumanMessage, ToolMessage, mapChatMessagesToStoredMessages } from '@langchain/core/messages';
import type { UIMessage } from 'ai';
import * as assert from 'uvu/assert';
import type { ChatStore } from '../../src/chat/chat-store.js';
import { fromUIMessage, toUIMessage } from '../../src/chat/message-shapes/ai-sdk.js';
import { type StoredLangChainMessage, fromLangChain, toLangChain } from '../../src/chat/message-shapes/langchain.js';
import { chatSuites, seedSession } from './helpers.js';

/** Stores the UI message, reads it back and maps it back. */
async function throughUI(chat: ChatStore, ui: UIMessage): Promise<{ back: unknown; stored: unknown }> {
  const added = await chat.messages.add('s1', fromUIMessage(ui as never));
  const read = await chat.messages.get('s1', added.messageId);
  return { back: toUIMessage(read), stored: read.content };
}

async function throughLangChain(chat: ChatStore, stored: StoredLangChainMessage): Promise<{ back: unknown; read: Awaited<ReturnType<ChatStore['messages']['get']>> }> {
  const added = await chat.messages.add('s1', fromLangChain(stored));
  const read = await chat.messages.get('s1', added.messageId);
  return { back: toLangChain(read), read };
}

const lc = (m: Parameters<typeof mapChatMessagesToStoredMessages>[0][number]) => JSON.parse(JSON.stringify(mapChatMessagesToStoredMessages([m])[0])) as StoredLangChainMessage;

chatSuites('chat: framework message shapes', (test, open) => {
  test('AI SDK: an Anthropic reasoning signature and text state come back, and the reasoning is a typed part', () =>
    open(async (chat) => {
      await seedSession(chat);
      const ui = {
        id: 'a1',
        role: 'assistant',
        parts: [
          { type: 'reasoning', text: 'Think.', state: 'done', providerMetadata: { anthropic: { signature: 'EqQBCkgIARABGAIiQ' } } },
          { type: 'text', text: 'Hi', state: 'streaming', providerOptions: { openai: { store: false } } },
        ],
      } as UIMessage;
      const { back, stored } = await throughUI(chat, ui);
      assert.equal(back, ui);
      assert.equal((stored as { type: string }[]).map((p) => p.type), ['reasoning', 'text']);
    }));

  test('AI SDK: tool parts keep every state (input-streaming, approval-requested ...), dynamic-tool stays dynamic, and the call and its output are typed', () =>
    open(async (chat) => {
      await seedSession(chat);
      const ui = {
        id: 'a2',
        role: 'assistant',
        parts: [
          { type: 'tool-get weather', toolCallId: 'c1', state: 'input-streaming', input: { city: 'Lis' } },
          { type: 'tool-search', toolCallId: 'c2', state: 'approval-requested', input: { q: 'x' }, approval: { id: 'ap1' } },
          { type: 'dynamic-tool', toolName: 'mcp.fetch', toolCallId: 'c3', state: 'output-available', input: {}, output: { ok: true }, callProviderMetadata: { p: { a: 1 } } },
          { type: 'tool-search', toolCallId: 'c4', state: 'output-error', input: { q: 'y' }, errorText: 'boom' },
          { type: 'tool-search', toolCallId: 'c5', state: 'output-denied', input: { q: 'z' }, approval: { id: 'ap2', approved: false, reason: 'no' } },
        ],
      } as unknown as UIMessage;
      const { back, stored } = await throughUI(chat, ui);
      assert.equal(back, ui);
      const types = (stored as { type: string; name?: string; isError?: boolean }[]).map((p) => `${p.type}${p.name ? `:${p.name}` : ''}${p.isError ? '!' : ''}`);
      assert.equal(types, ['tool_call:get weather', 'tool_call:search', 'tool_call:mcp.fetch', 'tool_result', 'tool_call:search', 'tool_result!', 'tool_call:search']);
    }));

  test('AI SDK: step-start, data-*, source-url and source-document parts, files with data: and blob: URLs and charset parameters, and metadata come back', () =>
    open(async (chat) => {
      await seedSession(chat);
      const ui = {
        id: 'a3',
        role: 'user',
        metadata: { createdAt: 1, usage: { inputTokens: 3, reasoningTokens: 1, cachedInputTokens: 0 }, finishReason: null },
        parts: [
          { type: 'step-start' },
          { type: 'data-weather', id: 'w1', data: { tempC: 21 } },
          { type: 'source-url', sourceId: 'src1', url: 'https://example.com', title: 'Example' },
          { type: 'source-document', sourceId: 'src2', mediaType: 'application/pdf', title: 'Plan', filename: 'plan.pdf' },
          { type: 'file', mediaType: 'text/plain; charset=utf-8', url: 'data:text/plain;charset=utf-8;base64,aGk=', filename: 'hi.txt' },
          { type: 'file', mediaType: 'image/png', url: 'blob:https://app.example/6f1c' },
        ],
      } as unknown as UIMessage;
      assert.equal((await throughUI(chat, ui)).back, ui);
    }));

  test('LangChain: string content stays a string and a list stays a list, image detail kept', () =>
    open(async (chat) => {
      await seedSession(chat);
      const asString = lc(new HumanMessage({ content: 'hello', id: 'h1', name: 'ann' }));
      assert.equal((await throughLangChain(chat, asString)).back, asString);
      const asList = lc(new HumanMessage({ content: [{ type: 'text', text: 'hello' }, { type: 'image_url', image_url: { url: 'https://x.org/a.png', detail: 'high' } }], id: 'h2' }));
      const { back, read } = await throughLangChain(chat, asList);
      assert.equal(back, asList);
      assert.equal((read.content as { type: string }[]).map((p) => p.type), ['text', 'image']);
    }));

  test('LangChain: an AI message keeps tool calls (typed), invalid tool calls, usage details, response metadata and additional kwargs', () =>
    open(async (chat) => {
      await seedSession(chat);
      const ai = lc(
        new AIMessage({
          content: '',
          id: 'ai1',
          tool_calls: [{ name: 'get weather', args: { city: 'Lisbon' }, id: 'call_1', type: 'tool_call' }],
          invalid_tool_calls: [{ name: 'x', args: '{', id: 'call_2', error: 'bad JSON', type: 'invalid_tool_call' }],
          usage_metadata: { input_tokens: 5, output_tokens: 7, total_tokens: 12, input_token_details: { cache_read: 2 }, output_token_details: { reasoning: 3 } },
          response_metadata: { model_name: 'm', finish_reason: 'tool_calls' },
          additional_kwargs: { refusal: null },
        }),
      );
      const { back, read } = await throughLangChain(chat, ai);
      assert.equal(back, ai);
      assert.equal(read.metadata.usage, { inputTokens: 5, outputTokens: 7, totalTokens: 12 });
      assert.equal((read.content as { type: string }[]).map((p) => p.type), ['text', 'tool_call']);
    }));

  test('LangChain: a ToolMessage keeps its artifact and status, its content typed as the tool result', () =>
    open(async (chat) => {
      await seedSession(chat);
      const tool = lc(new ToolMessage({ content: 'failed', tool_call_id: 'call_1', artifact: { raw: [1] }, status: 'error', id: 't1' }));
      const { back, read } = await throughLangChain(chat, tool);
      assert.equal(back, tool);
      assert.equal(read.content, [{ type: 'tool_result', toolCallId: 'call_1', content: 'failed', isError: true }]);
    }));
});
