import { FIELDS, type SearchDoc } from './search-doc.js';
import { tokenize } from './tokenizer.js';

/** A document's terms: per term, its occurrences per field. */
export interface Analysed {
  lengths: number[];
  terms: Map<string, { field: number; positions: number[] }[]>;
}

/**
 * Tokenises every field of a document. A field's length counts word positions
 * (a compound's parts share one), so the parts and stems the tokenizer adds do
 * not make a document look longer.
 */
export function analyse(doc: SearchDoc, stem: boolean): Analysed {
  const lengths: number[] = [];
  const terms = new Map<string, { field: number; positions: number[] }[]>();
  FIELDS.forEach((name, field) => {
    const tokens = tokenize(doc.fields[name] ?? '', { stem });
    lengths.push(tokens.length === 0 ? 0 : tokens[tokens.length - 1]!.position + 1);
    for (const t of tokens) {
      let list = terms.get(t.term);
      if (!list) terms.set(t.term, (list = []));
      const last = list[list.length - 1];
      if (last?.field === field) {
        if (last.positions[last.positions.length - 1] !== t.position) last.positions.push(t.position);
      } else list.push({ field, positions: [t.position] });
    }
  });
  return { lengths, terms };
}
