import type { ColumnDef, SqlValue } from '../driver.js';
import type { PgCopyConnection, PgSubmittable } from './pool.js';

/**
 * COPY ... FROM STDIN through pg's Submittable protocol (the one pg-cursor
 * and pg-copy-streams use): `client.query(submittable)` hands it the
 * connection, it sends the statement, answers CopyInResponse with the rows in
 * COPY's text format, and settles on ReadyForQuery (or on the error, which pg
 * delivers instead of ReadyForQuery).
 */

/** Chunks of about this many characters go out as separate CopyData messages. */
const CHUNK_CHARS = 1 << 20;

export class CopyFromRows implements PgSubmittable {
  readonly text: string;
  readonly #columns: readonly ColumnDef[];
  readonly #rows: readonly SqlValue[][];
  readonly #storedText: (value: string) => string;
  readonly #resolve: () => void;
  readonly #reject: (err: unknown) => void;
  /** Settles when the server has taken (or refused) every row. */
  readonly done: Promise<void>;

  constructor(text: string, columns: readonly ColumnDef[], rows: readonly SqlValue[][], storedText: (value: string) => string) {
    this.text = text;
    this.#columns = columns;
    this.#rows = rows;
    this.#storedText = storedText;
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    this.done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#resolve = resolve;
    this.#reject = reject;
  }

  submit(connection: PgCopyConnection): null {
    connection.query(this.text);
    return null;
  }

  handleCopyInResponse(connection: PgCopyConnection): void {
    let chunk = '';
    for (const row of this.#rows) {
      chunk += this.#line(row);
      if (chunk.length >= CHUNK_CHARS) {
        connection.sendCopyFromChunk(Buffer.from(chunk));
        chunk = '';
      }
    }
    if (chunk.length > 0) connection.sendCopyFromChunk(Buffer.from(chunk));
    connection.endCopyFrom();
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    this.#resolve();
  }

  handleError(err: unknown): void {
    this.#reject(err);
  }

  // pg calls these on any active query; COPY FROM never gets them.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  #line(row: readonly SqlValue[]): string {
    let line = '';
    for (let i = 0; i < row.length; i++) {
      if (i > 0) line += '\t';
      const v = row[i]!;
      if (v === null) line += '\\N';
      else if (typeof v === 'boolean') line += v ? 't' : 'f';
      else if (typeof v === 'number') line += String(v);
      // JSON text holds no raw control characters (JSON escapes them), only backslashes to double.
      else if (this.#columns[i]!.type === 'json') line += v.includes('\\') ? v.replace(/\\/g, '\\\\') : v;
      else line += copyText(this.#storedText(v));
    }
    return `${line}\n`;
  }
}

const SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A text value in COPY's text format: backslash, tab, newline and carriage return escaped. */
function copyText(s: string): string {
  return SPECIAL.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!) : s;
}
