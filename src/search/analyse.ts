import { FIELDS, type SearchDoc } from './search-doc.js';
import { scan } from './tokenizer.js';

/** A document's terms: per term, its occurrences as flat `field, position` pairs, in field then position order. */
export interface Analysed {
  lengths: number[];
  terms: Map<string, number[]>;
}

/**
 * Tokenises every field of a document. A field's length counts word positions
 * (a compound's parts share one), so the parts and stems the tokenizer adds do
 * not make a document look longer.
 */
export function analyse(fields: SearchDoc['fields'], stem: boolean): Analysed {
  const lengths: number[] = [];
  const terms = new Map<string, number[]>();
  for (let field = 0; field < FIELDS.length; field++) {
    let words = 0;
    const text = fields[FIELDS[field]!];
    if (text) {
      scan(text, stem, (term, position) => {
        words = position + 1;
        const pairs = terms.get(term);
        if (pairs === undefined) terms.set(term, [field, position]);
        else pairs.push(field, position);
      });
    }
    lengths.push(words);
  }
  return { lengths, terms };
}
