import { invalid } from '../../kernel/validation.js';
import { fold } from './fold.js';

/**
 * Starts every entity term in the index: the tokenizer never emits it, so an
 * entity term never collides with a word.
 */
export const ENTITY_MARK = '\u0001';

/** Something a text names, found by its shape. `value` is the folded form a query matches on. */
export interface FoundEntity {
  type: 'email' | 'url' | 'mention' | 'hashtag' | 'id' | 'name';
  /** As written. */
  text: string;
  value: string;
  /** UTF-16 offsets in the source text, [start, end). */
  start: number;
  end: number;
}

type EntityType = FoundEntity['type'];

/**
 * Shapes, in the order they claim text: a URL holds what looks like an email or
 * a #fragment, an email holds what looks like a @mention.
 */
const SHAPES: ReadonlyArray<[EntityType, RegExp, RegExp?]> = [
  // The third expression is a cheap test a text must pass for the shape to be looked for at all.
  ['url', /https?:\/\/[^\s<>"'`]+[^\s<>"'`.,;:!?)\]}]/giu, /:\/\//],
  ['email', /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/gu, /@/],
  ['mention', /(?<![\p{L}\p{N}_@])@[\p{L}\p{N}_][\p{L}\p{N}_.-]*[\p{L}\p{N}_]|(?<![\p{L}\p{N}_@])@[\p{L}\p{N}_]/gu, /@/],
  ['hashtag', /(?<![\p{L}\p{N}_&#])#[\p{L}_][\p{L}\p{N}_-]*/gu, /#/],
  // Ids: ULIDs, UUIDs, and tokens mixing letters and digits with a separator (ORDER-1234, INV_2024_001).
  // A ULID starts with a digit 0-7 (its time), a UUID has hyphens, a code digits: texts with neither are not searched.
  ['id', /\b(?:[0-7][0-9A-HJKMNP-TV-Z]{25}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z]{2,}[-_][0-9]{2,}(?:[-_][A-Za-z0-9]+)*)\b/gu, /[-0-9]/],
  // Names: two or more capitalised words in a row (Ada Lovelace, New York City), not at a sentence start alone,
  // and not across a line break (a list of capitalised lines is not one name).
  ['name', /\b\p{Lu}\p{Ll}+(?:[^\S\n]+(?:\p{Lu}\p{Ll}+|de|da|van|von|der|di|la|le))*[^\S\n]+\p{Lu}\p{Ll}+\b/gu],
];

/**
 * The entities a text names by their shape: URLs, emails, @mentions, #tags,
 * ids and multi-word capitalised names. Each character belongs to at most one
 * entity (the first shape to claim it), and entities come back in text order.
 */
export function findEntities(text: string): FoundEntity[] {
  // One flag per code unit: linear in the text, where a list of claimed ranges is quadratic in a long document's entities.
  const claimed = new Uint8Array(text.length);
  const out: FoundEntity[] = [];
  for (const [type, shape, needs] of SHAPES) {
    if (needs && !needs.test(text)) continue;
    for (const m of text.matchAll(shape)) {
      const start = m.index;
      const end = start + m[0].length;
      if (claimed.subarray(start, end).includes(1)) continue;
      claimed.fill(1, start, end);
      out.push({ type, text: m[0], value: normaliseEntity(type, m[0]).value, start, end });
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

/**
 * The form an entity is indexed and looked up by. A type (any an analyser or
 * an app names, such as 'PERSON' or 'Work of Art') becomes 1-32 of a-z, 0-9,
 * '_' and '-' ('other' when nothing is left). Ids keep their case (ULIDs and
 * codes are exact); every other value is folded for case and diacritics, with
 * single spaces.
 */
export function normaliseEntity(type: string, text: string): { type: string; value: string } {
  const t = fold(type).replace(/[^a-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 32) || 'other';
  const trimmed = text.trim();
  return { type: t, value: t === 'id' ? trimmed : fold(trimmed.replace(/\s+/g, ' ')) };
}

/**
 * The index terms of `entities`, sorted and without repeats: each entity is
 * found by its value alone and by its type and value; a URL also by its host
 * as a `domain` (and the host without `www.`), so `entity: 'example.com'`
 * finds every URL on example.com.
 */
export function entityTerms(entities: readonly { type: string; value: string }[]): string[] {
  const terms = new Set<string>();
  const add = (type: string, value: string) => {
    terms.add(ENTITY_MARK + value);
    terms.add(`${ENTITY_MARK}${type}:${value}`);
  };
  for (const e of entities) {
    const { type, value } = normaliseEntity(e.type, e.value);
    if (value === '') continue;
    add(type, value);
    const host = type === 'url' ? urlHost(value) : undefined;
    if (host) {
      add('domain', host);
      if (host.startsWith('www.') && host.length > 4) add('domain', host.slice(4));
    }
  }
  return [...terms].sort();
}

/** The host of a folded URL (`https://user@example.com:8080/x` → `example.com`), if it has one. */
function urlHost(url: string): string | undefined {
  return /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?([^/?#:]+)/.exec(url)?.[1]?.replace(/\.$/, '') || undefined;
}

const MAX_QUERY_VALUE = 200;
const MAX_QUERY_TYPE = 64;

/**
 * The one index term a search's entity option looks up: a string ('Ada
 * Lovelace', '@ada', 'ORDER-1234') finds the entity of any type, normalised as
 * the type its shape gives it (folded when it has none); `{ type, value }`
 * finds it as that type only.
 */
export function entityQueryTerm(option: unknown, field = 'entity'): string {
  if (typeof option === 'string') {
    const text = queryValue(option, field);
    const [whole] = findEntities(text).filter((e) => e.start === 0 && e.end === text.length);
    return ENTITY_MARK + normaliseEntity(whole?.type ?? 'other', text).value;
  }
  if (option === null || typeof option !== 'object' || Array.isArray(option)) {
    throw invalid(field, 'must be a string or an object { type, value }');
  }
  for (const key of Object.keys(option)) {
    if (key !== 'type' && key !== 'value') throw invalid(`${field}.${key}`, 'is not a field here (allowed: type, value)');
  }
  const { type, value } = option as { type?: unknown; value?: unknown };
  if (typeof type !== 'string' || type.trim() === '' || type.length > MAX_QUERY_TYPE) {
    throw invalid(`${field}.type`, `must be an entity type of 1-${MAX_QUERY_TYPE} characters, such as 'email' or 'person'`);
  }
  const e = normaliseEntity(type, queryValue(value, `${field}.value`));
  return `${ENTITY_MARK}${e.type}:${e.value}`;
}

function queryValue(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_QUERY_VALUE) {
    throw invalid(field, `must be a non-blank string of at most ${MAX_QUERY_VALUE} characters`);
  }
  return value.trim();
}
