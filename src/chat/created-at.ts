import { instant } from '../events/fields.js';
import { describe, invalid } from '../kernel/validation.js';

/**
 * ISO 8601 as apps write it: a date (UTC), or a date and time with a zone
 * (`Z` or `±hh:mm`). A time without a zone is refused: JavaScript would read
 * it in the local zone of whichever machine ran the import.
 */
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/i;

/**
 * The time a caller gives as `createdAt` for history imported: an ISO 8601
 * string, a Date (a payload's Date arrives as its ISO string), or milliseconds
 * since the epoch; from 1970-01-01 to 9999-12-31 (UTC). INVALID_ARGUMENT
 * naming `field` otherwise. Undefined stays undefined: the time of the write.
 */
export function createdAt(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  let t: number;
  if (value instanceof Date) t = value.getTime();
  else if (typeof value === 'number') t = value;
  else if (typeof value === 'string') t = parseIso(value, field);
  else throw invalid(field, `must be an ISO 8601 string, a Date or milliseconds since the epoch; got ${describe(value)}`);
  if (!Number.isFinite(t)) throw invalid(field, 'must be a valid date');
  instant(t, field);
  return t;
}

function parseIso(value: string, field: string): number {
  const m = ISO.exec(value);
  if (!m) throw invalid(field, `must be an ISO 8601 date, or date and time with a zone (2002-08-01T09:30:00Z); got ${JSON.stringify(value.slice(0, 64))}`);
  const [, year, month, day, hour = '0', minute = '0', second = '0'] = m;
  // Date.parse rolls 2002-02-30 over to March: check the fields themselves.
  const civil = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (civil.getUTCMonth() !== Number(month) - 1 || civil.getUTCDate() !== Number(day) || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) {
    throw invalid(field, `must be a valid date; got ${JSON.stringify(value)}`);
  }
  // Date.parse takes ±hhmm only with the colon.
  return Date.parse(value.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
}
