import { createHash } from 'node:crypto';

/**
 * The one encoding from an id (any string the id rule of kernel/validation.ts
 * takes) to a file or folder name. An id never reaches a path as given.
 *
 * - An id of the form every earlier version allowed (1-128 of `A-Z a-z 0-9 _ -`,
 *   starting with a letter or digit) is its own name, as it always was, so
 *   stores written before open as they are. Windows device names (`CON`,
 *   `nul`, `COM1` …, in any case) are the exception: they are encoded like the
 *   ids below, and their earlier name is used only where a folder of that
 *   exact name exists (legacyFileNameOf).
 * - Any other id is `~` and its UTF-8 bytes, with each byte outside
 *   `a-z 0-9 _ -` written `%` and two lowercase hex digits (`User:1` →
 *   `~%55ser%3a1`). The name is ASCII, holds no `.`, separator or uppercase
 *   letter, so no file system folds, normalises or reserves it, and two ids
 *   never get names that differ only in case.
 * - When that would pass MAX_NAME_BYTES, the name is `~`, the first escapes
 *   (at most PREFIX_BYTES) and `~` with the sha256 of the id in hex. Such a
 *   name cannot be read back as the id, and need not be: the store keeps every
 *   id in its files (a stream's in the feed frames its frames link to).
 *
 * Earlier names never start with `~`, escaped ones never hold a second `~`
 * (it is escaped), so the three forms never meet.
 */

const LEGACY = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** Windows device names, which a file of that name (with any extension) would open instead of a file. */
const RESERVED = /^(?:con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;
const KEPT = /^[a-z0-9_-]$/;
/** Well under the 255 bytes most file systems allow in one name. */
const MAX_NAME_BYTES = 200;
const PREFIX_BYTES = 120;
const ENCODED_MARK = '~';

/** The name earlier versions gave an id, when it is not fileNameOf(id): only a Windows device name of the earlier form. */
export function legacyFileNameOf(id: string): string | undefined {
  return LEGACY.test(id) && RESERVED.test(id) ? id : undefined;
}

export function fileNameOf(id: string): string {
  if (LEGACY.test(id) && !RESERVED.test(id)) return id;
  const escapes: string[] = [];
  for (const byte of Buffer.from(id, 'utf8')) {
    const c = String.fromCharCode(byte);
    escapes.push(KEPT.test(c) ? c : `%${byte.toString(16).padStart(2, '0')}`);
  }
  const escaped = escapes.join('');
  if (ENCODED_MARK.length + escaped.length <= MAX_NAME_BYTES) return ENCODED_MARK + escaped;
  let prefix = '';
  for (const e of escapes) {
    if (prefix.length + e.length > PREFIX_BYTES) break;
    prefix += e;
  }
  return `${ENCODED_MARK}${prefix}${ENCODED_MARK}${createHash('sha256').update(id, 'utf8').digest('hex')}`;
}
