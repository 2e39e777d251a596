import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, FfcdbError } from '../../kernel/errors.js';
import { importPeer } from '../peer.js';
import { type SqliteDatabase, SqliteDriver, sqliteError } from './driver.js';

export interface SqliteConnectOptions {
  /** Table name prefix (default `ffcdb_`). */
  prefix?: string;
  /** Refuse a missing file (NOT_FOUND) rather than create it: for what only reads or removes a migration (verify, rollback). */
  mustExist?: boolean;
}

type DatabaseConstructor = new (file: string, options?: { fileMustExist?: boolean }) => SqliteDatabase & { pragma(source: string): unknown };

/**
 * Opens (or, unless `mustExist`, creates) the SQLite file through
 * better-sqlite3, the one place that loads the package. A file this call
 * creates is put in WAL mode; an existing file keeps its journal mode (the
 * migration must leave what it found as it was).
 */
export async function connectSqlite(file: string, options: SqliteConnectOptions = {}): Promise<SqliteDriver> {
  const Database = (await importPeer<{ default: DatabaseConstructor }>('better-sqlite3', 'SQLite')).default;
  const resolved = path.resolve(file);
  const existed = fs.existsSync(resolved);
  if (existed && !fs.statSync(resolved).isFile()) throw new FfcdbError(ErrorCode.INVALID_ARGUMENT, `sqlite:${resolved} is not a file`, { field: 'to', target: `sqlite:${resolved}` });
  if (!existed && options.mustExist) throw new FfcdbError(ErrorCode.NOT_FOUND, `sqlite:${resolved} does not exist (it holds no migration)`, { field: 'to', target: `sqlite:${resolved}` });
  if (!fs.existsSync(path.dirname(resolved))) throw new FfcdbError(ErrorCode.NOT_FOUND, `sqlite:${resolved}: the folder ${path.dirname(resolved)} does not exist`, { field: 'to', target: `sqlite:${resolved}` });
  let db: (SqliteDatabase & { pragma(source: string): unknown }) | undefined;
  try {
    // fileMustExist: a file removed since the check above is not created either.
    db = new Database(resolved, { fileMustExist: options.mustExist === true });
    // Reading the schema is the first access to the file: a file that is not a database fails here, not mid-migration.
    db.prepare('SELECT count(*) FROM sqlite_master').all();
    db.pragma('busy_timeout = 5000');
    // A file of our own gets 16 KiB pages (rows of ~1 KiB of JSON: fewer overflow pages and tree levels) and WAL.
    if (!existed) {
      db.pragma('page_size = 16384');
      db.pragma('journal_mode = WAL');
    }
    // WAL with synchronous NORMAL survives any crash consistent; each batch carries its checkpoint, so a lost tail is redone.
    if (String((db.pragma('journal_mode') as { journal_mode: string }[])[0]?.journal_mode).toLowerCase() === 'wal') db.pragma('synchronous = NORMAL');
    db.pragma('cache_size = -65536');
    return new SqliteDriver(db, { ...(options.prefix === undefined ? {} : { prefix: options.prefix }), createdFile: !existed, owned: true });
  } catch (err) {
    db?.close();
    if (!existed) for (const suffix of ['', '-wal', '-shm']) fs.rmSync(resolved + suffix, { force: true });
    throw sqliteError(err, resolved);
  }
}
