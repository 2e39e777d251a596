/**
 * Scored lists: documents ascending, each with a score, as a query's clauses
 * yield them, and the walks that combine them (unions, per-document best and
 * sums, membership).
 */

/** Documents ascending, each with its score. */
export interface Scored {
  docs: number[];
  scores: number[];
}

export const EMPTY: Scored = { docs: [], scores: [] };

/** Membership in an ascending list, asked in ascending order (a walk, not a lookup); no list admits everything. */
export class Cursor {
  readonly #list: readonly number[] | undefined;
  #at = 0;

  constructor(list: readonly number[] | undefined) {
    this.#list = list;
  }

  has(doc: number): boolean {
    const list = this.#list;
    if (!list) return true;
    while (this.#at < list.length && list[this.#at]! < doc) this.#at++;
    return list[this.#at] === doc;
  }
}

/** The ascending union of two ascending lists. */
export function union(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j === b.length || (i < a.length && a[i]! < b[j]!)) out.push(a[i++]!);
    else if (i === a.length || b[j]! < a[i]!) out.push(b[j++]!);
    else {
      out.push(a[i++]!);
      j++;
    }
  }
  return out;
}

/** Per candidate (ascending), its scores in `scored` added in clause order (0 where a clause has none). */
export function sumInOrder(candidates: readonly number[], scored: readonly Scored[]): number[] {
  const at = scored.map(() => 0);
  return candidates.map((doc) => {
    let sum = 0;
    scored.forEach((m, c) => {
      let i = at[c]!;
      while (i < m.docs.length && m.docs[i]! < doc) i++;
      at[c] = i;
      sum += m.docs[i] === doc ? m.scores[i]! : 0;
    });
    return sum;
  });
}
/** Per document, the best of several scorings (a prefix's expansions). */
export function best(lists: readonly Scored[]): Scored {
  return lists.length === 1 ? lists[0]! : lists.reduce((out, m) => merge(out, m, Math.max), EMPTY);
}

/**
 * A word's scoring and its stem's, as one: per document the stem's score (the
 * stem stands for every form of the word, as in FTS5's porter tokenizer), or
 * the word's where the word stands without its stem (an all-capitals word is
 * not stemmed).
 */
export function stemmed(word: Scored, stem: Scored): Scored {
  return merge(word, stem, (_, s) => s);
}

/** The union of two scored lists; a document in both scores `both(a's score, b's score)`. */
function merge(a: Scored, b: Scored, both: (x: number, y: number) => number): Scored {
  const out: Scored = { docs: [], scores: [] };
  let i = 0;
  let j = 0;
  while (i < a.docs.length || j < b.docs.length) {
    const x = a.docs[i];
    const y = b.docs[j];
    if (y === undefined || (x !== undefined && x < y)) {
      out.docs.push(x!);
      out.scores.push(a.scores[i++]!);
    } else if (x === undefined || y < x) {
      out.docs.push(y);
      out.scores.push(b.scores[j++]!);
    } else {
      out.docs.push(x);
      out.scores.push(both(a.scores[i++]!, b.scores[j++]!));
    }
  }
  return out;
}
