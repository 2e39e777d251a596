/**
 * Seeded, English-like chat data: every run of every scenario sees the same
 * messages for the same seed, so figures from two runs compare.
 */
import type { JsonValue, NewEvent } from '../../src/kernel/types.js';

/** mulberry32: a small, fast, well-known 32-bit PRNG; enough for test data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Ordered roughly by frequency in conversational English, then chat/tech vocabulary.
const WORDS = (
  'the to and of a i you it in that is for this be on with have not are but can as we if do so ' +
  'what your or just at was will an my me all about they there would like from one get how more ' +
  'when which some out up think them then know could use also make time any because only here ' +
  'want need other should way see than well work very even into first new good much where now ' +
  'help thing things something try really sure right might same still each example first those ' +
  'data file code question answer problem idea point case better different between while after ' +
  'before again through without using used both many most people take look come going doing find ' +
  'give tell said each last long little own great another around however every since number part ' +
  'system value function error result change set list user message session model context document ' +
  'request response server client test tests build update version page table query index search ' +
  'write read order step steps approach option options default setting settings memory disk cache ' +
  'report summary draft review plan project team meeting customer budget schedule deadline week ' +
  'month year today tomorrow yesterday morning afternoon evening email note notes call issue fix ' +
  'feature release support performance latency throughput storage backup restore migration schema ' +
  'simple simpler clear clearer quick quickly likely probably actually usually already perhaps ' +
  'maybe exactly instead either rather quite almost enough less least several certain possible ' +
  'important specific similar general common main whole real small large small short easy hard ' +
  'explain suggest consider compare describe check keep add remove move open close start stop ' +
  'run save load send receive share create delete edit rename archive tag include return handle ' +
  'recipe travel garden weather flight hotel train ticket museum dinner coffee book chapter story ' +
  'character paragraph sentence word language translation grammar essay letter poem song music ' +
  'health sleep exercise running walking diet protein vegetables water minutes hours distance ' +
  'price cost invoice payment account bank loan interest rate savings tax refund contract policy ' +
  'chart graph spreadsheet column row cell formula average total percent growth revenue sales'
).split(/\s+/).filter(Boolean);

const NAMES = ['Alice', 'Bob', 'Priya', 'Mateo', 'Yuki', 'Olga', 'Kwame', 'Sofia', 'Liam', 'Chen', 'Fatima', 'Noah'];
const PLACES = ['Lisbon', 'Nairobi', 'Osaka', 'Toronto', 'Berlin', 'Santiago', 'Mumbai', 'Oslo', 'Denver', 'Hanoi'];
const MODELS = ['gpt-4o', 'claude-3-5-sonnet', 'llama-3.1-70b', 'mistral-large'];
const SOURCES = ['web', 'ios', 'android', 'api'];

/** Zipf-like sampling: rank r drawn with weight 1 / (r + 1)^0.85 ("the" about 7 % of words, as in English). */
const CUMULATIVE: number[] = (() => {
  const out: number[] = [];
  let sum = 0;
  for (let r = 0; r < WORDS.length; r++) {
    sum += 1 / (r + 1) ** 0.85;
    out.push(sum);
  }
  return out.map((c) => c / sum);
})();

function pickWord(rnd: () => number): string {
  const x = rnd();
  let lo = 0;
  let hi = CUMULATIVE.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((CUMULATIVE[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return WORDS[lo] as string;
}

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)] as T;
}

function sentence(rnd: () => number): string {
  const n = 5 + Math.floor(rnd() * 14);
  const words: string[] = [];
  for (let i = 0; i < n; i++) {
    const x = rnd();
    let w: string;
    if (x < 0.02) w = pick(rnd, NAMES);
    else if (x < 0.03) w = pick(rnd, PLACES);
    else if (x < 0.04) w = String(Math.floor(rnd() * (rnd() < 0.5 ? 100 : 10_000)));
    else {
      w = pickWord(rnd);
      if (w === words[i - 1]) w = pickWord(rnd);
    }
    if (i > 2 && i < n - 2 && rnd() < 0.08) w += ',';
    words.push(w);
  }
  const first = words[0] as string;
  words[0] = first.charAt(0).toUpperCase() + first.slice(1);
  const end = rnd();
  return words.join(' ') + (end < 0.8 ? '.' : end < 0.93 ? '?' : '!');
}

/** English-like text of about `target` characters (whole sentences). */
export function chatText(rnd: () => number, target: number): string {
  const parts: string[] = [];
  let len = 0;
  while (len < target) {
    const s = sentence(rnd);
    parts.push(s);
    len += s.length + 1;
    if (rnd() < 0.1 && len < target) {
      parts.push('\n\n');
      len += 2;
    }
  }
  return parts.join(' ').replace(/ \n\n /g, '\n\n');
}

/** Message length: mean about 600 characters, spread 250..950. */
function messageLength(rnd: () => number): number {
  const spread = (rnd() + rnd() + rnd()) / 3 - 0.5; // roughly normal, -0.5..0.5
  return Math.round(600 + spread * 700);
}

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
function token(rnd: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(rnd() * 32)];
  return s;
}

/** A valid stream id for session number `i` of a data set (stable for a seed). */
export function sessionIds(seed: number, count: number): string[] {
  const rnd = seededRandom(seed ^ 0x5e551017);
  return Array.from({ length: count }, (_, i) => `ses_${token(rnd, 12)}${i.toString(36)}`);
}

export interface ChatMessageOptions {
  sessionId: string;
  /** The message's place in its session: 0, 1, 2 ... (even: user, odd: assistant). */
  seq: number;
  /** Time of the message, ms since the epoch. */
  at: number;
}

/** One `message.added` event: ~600 characters of text plus realistic metadata. */
export function chatMessageEvent(rnd: () => number, o: ChatMessageOptions): NewEvent {
  const user = o.seq % 2 === 0;
  const turn = Math.floor(o.seq / 2);
  const messageId = `msg_${o.sessionId.slice(4)}_${o.seq}`;
  const data: { [k: string]: JsonValue } = {
    messageId,
    role: user ? 'user' : 'assistant',
    content: [{ type: 'text', text: chatText(rnd, messageLength(rnd)) }],
    createdAt: new Date(o.at).toISOString(),
  };
  if (!user) {
    const prompt = 200 + Math.floor(rnd() * 3000);
    data.model = pick(rnd, MODELS);
    data.usage = { promptTokens: prompt, completionTokens: 80 + Math.floor(rnd() * 400), latencyMs: 300 + Math.floor(rnd() * 4000) };
    data.finishReason = 'stop';
  } else if (rnd() < 0.05) {
    data.attachments = [{ documentId: `doc_${token(rnd, 16)}`, name: `${pickWord(rnd)}-${pickWord(rnd)}.pdf`, mimeType: 'application/pdf', bytes: 10_000 + Math.floor(rnd() * 2_000_000) }];
  }
  return {
    type: 'message.added',
    data,
    metadata: {
      actor: user ? `usr_${o.sessionId.slice(4, 12)}` : `assistant:${(data.model as string) ?? 'default'}`,
      correlationId: `turn_${o.sessionId.slice(4)}_${turn}`,
      ...(o.seq > 0 ? { causationId: `msg_${o.sessionId.slice(4)}_${o.seq - 1}` } : {}),
      source: pick(rnd, SOURCES),
      clientVersion: `4.${Math.floor(rnd() * 12)}.${Math.floor(rnd() * 30)}`,
    },
  };
}

/** A pool of `count` messages for one session, to cycle through in timed loops (generated before timing). */
export function messagePool(seed: number, sessionId: string, count: number, start = Date.UTC(2025, 0, 6, 9)): NewEvent[] {
  const rnd = seededRandom(seed);
  return Array.from({ length: count }, (_, seq) => chatMessageEvent(rnd, { sessionId, seq, at: start + seq * 45_000 }));
}

// ---------- the same data shaped for the chat API (chat-* scenarios) ----------

/** A message for `chat.messages.add`, with the audit fields it is written with. */
export interface ChatApiMessage {
  message: {
    messageId: string;
    role: 'user' | 'assistant';
    content: { type: 'text'; text: string }[];
    metadata?: { [k: string]: JsonValue };
  };
  options: { actor?: string; correlationId?: string; causationId?: string };
}

/**
 * `chatMessageEvent`'s message as the chat API takes it: the text part, the
 * model, token usage and finish reason as message metadata (plus latency,
 * source and client version as free fields), actor and correlation and
 * causation ids as write options. Attachments are left out (they would have
 * to name stored documents).
 */
export function chatApiMessage(rnd: () => number, o: ChatMessageOptions): ChatApiMessage {
  const e = chatMessageEvent(rnd, o);
  const d = e.data as { [k: string]: JsonValue };
  const m = (e.metadata ?? {}) as { [k: string]: string };
  const metadata: { [k: string]: JsonValue } = { source: m.source ?? 'web', clientVersion: m.clientVersion ?? '4.0.0' };
  if (d.model !== undefined) {
    const usage = d.usage as { promptTokens: number; completionTokens: number; latencyMs: number };
    metadata.model = d.model;
    metadata.usage = { inputTokens: usage.promptTokens, outputTokens: usage.completionTokens, totalTokens: usage.promptTokens + usage.completionTokens };
    metadata.finishReason = d.finishReason as string;
    metadata.latencyMs = usage.latencyMs;
  }
  const options: ChatApiMessage['options'] = {};
  if (m.actor) options.actor = m.actor;
  if (m.correlationId) options.correlationId = m.correlationId;
  if (m.causationId) options.causationId = m.causationId;
  return {
    message: { messageId: d.messageId as string, role: d.role as 'user' | 'assistant', content: d.content as { type: 'text'; text: string }[], metadata },
    options,
  };
}

/** Tags and how often a session carries each (independently): 'travel' on ~10 % of sessions, 'tax' on ~1 %. */
export const SESSION_TAGS: ReadonlyArray<readonly [string, number]> = [
  ['work', 0.3],
  ['personal', 0.2],
  ['code', 0.15],
  ['travel', 0.1],
  ['health', 0.05],
  ['finance', 0.03],
  ['tax', 0.01],
];

/** A new session's title (a short sentence), tags (see SESSION_TAGS) and a little metadata. */
export function chatSessionInput(rnd: () => number): { title: string; tags: string[]; metadata: { [k: string]: JsonValue } } {
  let title = sentence(rnd).replace(/[.?!]$/, '');
  if (title.length > 80) title = title.slice(0, 80).replace(/[ ,]+\S*$/, '');
  const tags = SESSION_TAGS.filter(([, p]) => rnd() < p).map(([t]) => t);
  return { title, tags, metadata: { model: pick(rnd, MODELS), source: pick(rnd, SOURCES) } };
}

/**
 * A session context's changes, as an app keeps situational context: change 1
 * sets the whole context; the rest are RFC 7386 merge patches (the task's step
 * and status, remembered facts added, replaced and removed, the recent tools
 * list replaced, a running summary rewritten now and then).
 */
export function contextChanges(rnd: () => number, count: number): { op: 'set' | 'patch'; value: { [k: string]: JsonValue } }[] {
  const out: { op: 'set' | 'patch'; value: { [k: string]: JsonValue } }[] = [];
  const tools = ['search', 'calculator', 'calendar', 'code_interpreter', 'browser', 'weather', 'maps'];
  out.push({
    op: 'set',
    value: {
      user: { name: pick(rnd, NAMES), city: pick(rnd, PLACES), locale: 'en-GB', timezone: 'Europe/Lisbon' },
      task: { goal: sentence(rnd), step: 0, status: 'started' },
      summary: chatText(rnd, 300),
      facts: {},
      recentTools: [],
      counters: { turns: 0, toolCalls: 0 },
    },
  });
  for (let i = 1; i < count; i++) {
    const patch: { [k: string]: JsonValue } = { task: { step: i, status: rnd() < 0.1 ? 'blocked' : 'in_progress' }, counters: { turns: i } };
    const x = rnd();
    if (x < 0.6) patch.facts = { [`f${Math.floor(rnd() * 40)}`]: sentence(rnd) };
    else if (x < 0.7) patch.facts = { [`f${Math.floor(rnd() * 40)}`]: null };
    else if (x < 0.85) patch.recentTools = Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => pick(rnd, tools));
    else patch.summary = chatText(rnd, 300);
    out.push({ op: 'patch', value: patch });
  }
  return out;
}
