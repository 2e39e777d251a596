import { indexedEntityTerms } from '../projections/search/projection.js';
import { FIELDS, type SearchDoc } from '../projections/search/search-doc.js';
import { scan } from './tokenizer.js';

/** The distinct terms of a document, as indexing finds them, entities included: what its tombstone takes out of the document frequencies. */
export function termsOf(doc: Pick<SearchDoc, 'fields' | 'entities'>, stem: boolean): Set<string> {
  const terms = new Set<string>(indexedEntityTerms(doc));
  for (const name of FIELDS) {
    const text = doc.fields[name];
    if (text) scan(text, stem, (term) => terms.add(term));
  }
  return terms;
}
