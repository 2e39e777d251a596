// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range starts at NUL; any control character is ASCII too
const ASCII = /^[\x00-\x7f]*$/;

/**
 * Lowercase, without diacritics (NFKD, marks removed), so `Café` and `cafe`
 * meet: how the tokenizer folds words and entity values are normalised alike.
 */
export function fold(text: string): string {
  // ASCII has nothing to decompose or strip: the common case skips both passes.
  if (ASCII.test(text)) return text.toLowerCase();
  return text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
}
