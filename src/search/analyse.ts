import { FIELDS, type SearchDoc } from './search-doc.js';
import { scan } from './tokenizer.js';

/** The distinct terms of a document's fields, as indexing finds them: what its tombstone takes out of the document frequencies. */
export function termsOf(fields: SearchDoc['fields'], stem: boolean): Set<string> {
  const terms = new Set<string>();
  for (const name of FIELDS) {
    const text = fields[name];
    if (text) scan(text, stem, (term) => terms.add(term));
  }
  return terms;
}
