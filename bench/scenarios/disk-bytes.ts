/**
 * Bytes on disk per event for the read scenarios' data set (one event per
 * append, ~600-character chat messages): everything in the store's folder,
 * against the same events as bare msgpack (one RecordedEvent each), as JSON
 * lines, and as SQLite's database file (WAL checkpointed).
 * Goal (issue 2): the log smaller than SQLite's file.
 */
import { ensureCorpus, standardShape } from '../lib/corpus.js';
import { defineScenario } from '../lib/scenario.js';
import { packr, SqliteEventLog } from '../lib/sqlite-peer.js';
import { dirSize, filesSize } from '../lib/temp.js';

export default defineScenario({
  title: 'bytes on disk per event',
  async run(ctx) {
    const r = ctx.results;
    const info = await ensureCorpus(ctx, standardShape(ctx));
    const log = await dirSize(info.storeDir);

    // The same events, re-encoded: as msgpack and as JSON lines.
    let msgpackBytes = 0;
    let jsonBytes = 0;
    let n = 0;
    const sqlite = new SqliteEventLog(info.sqliteFile, 'NORMAL');
    for (const e of sqlite.scan()) {
      msgpackBytes += packr.pack(e).length;
      jsonBytes += Buffer.byteLength(JSON.stringify(e)) + 1;
      n++;
    }
    sqlite.checkpoint();
    sqlite.close();
    if (n !== info.events) throw new Error(`SQLite holds ${n} events, expected ${info.events}`);
    const db = await filesSize([info.sqliteFile, `${info.sqliteFile}-wal`, `${info.sqliteFile}-shm`]);
    const sqliteBytes = db.bytes;

    r.params = `${info.events.toLocaleString('en-US')} events in ${info.sessions.toLocaleString('en-US')} sessions, one event per append`;
    r.compare({
      metric: 'bytes per event',
      kind: 'size',
      unit: 'B/event',
      value: log.bytes / n,
      peers: [
        { name: 'SQLite database file', value: sqliteBytes / n, goal: { text: "log smaller than SQLite's file", atLeast: 1 } },
        { name: 'msgpack of each event', value: msgpackBytes / n },
        { name: 'JSON lines', value: jsonBytes / n },
      ],
    });
    r.compare({
      metric: 'allocated per event',
      kind: 'size',
      unit: 'B/event',
      value: log.allocated / n,
      peers: [{ name: 'SQLite database file', value: db.allocated / n }],
    });
    r.note(
      `store folder: ${log.files.toLocaleString('en-US')} files, ${(log.bytes / 2 ** 20).toFixed(1)} MiB (allocated ${(log.allocated / 2 ** 20).toFixed(1)} MiB); ` +
        `SQLite: ${(sqliteBytes / 2 ** 20).toFixed(1)} MiB; msgpack: ${(msgpackBytes / 2 ** 20).toFixed(1)} MiB; JSON lines: ${(jsonBytes / 2 ** 20).toFixed(1)} MiB`,
    );
  },
});
