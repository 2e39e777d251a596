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
/** Per document, the best of several scorings (a word or its stem, a prefix's expansions). */
export function best(lists: readonly Scored[]): Scored {
  if (lists.length === 1) return lists[0]!;
  let out: Scored = { docs: [], scores: [] };
  for (const m of lists) {
    const merged: Scored = { docs: [], scores: [] };
    let i = 0;
    let j = 0;
    while (i < out.docs.length || j < m.docs.length) {
      const a = out.docs[i];
      const b = m.docs[j];
      if (b === undefined || (a !== undefined && a < b)) {
        merged.docs.push(a!);
        merged.scores.push(out.scores[i++]!);
      } else if (a === undefined || b < a) {
        merged.docs.push(b);
        merged.scores.push(m.scores[j++]!);
      } else {
        merged.docs.push(a);
        merged.scores.push(Math.max(out.scores[i++]!, m.scores[j++]!));
      }
    }
    out = merged;
  }
  return out;
}
