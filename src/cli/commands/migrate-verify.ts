import { verifyMigration } from '../../migration/index.js';
import { type Command, EXIT } from '../command.js';
import { TARGET_OPTIONS, TARGET_USAGE, noPositionals, withLog, withTarget } from './migrate-target.js';

/** Differences printed before the rest are only counted. */
const SHOWN = 50;

export const migrateVerifyCommand: Command = {
  name: 'migrate verify',
  usage: `ffcdb migrate verify --dir DIR ${TARGET_USAGE}   compare the database with the log (exit 1 if they differ)`,
  options: { dir: { type: 'string' }, ...TARGET_OPTIONS },
  run(values, positionals) {
    noPositionals(positionals);
    return withLog(values.dir, (store) =>
      withTarget(values, async (target) => {
        const r = await verifyMigration({ store, target });
        console.log(`${target.description} at position ${r.position} (log head ${r.head}${r.head > r.position ? `, ${r.head - r.position} positions still to migrate` : ''})`);
        console.log(`compared ${r.sessions} sessions, ${r.users} users, ${r.streams} streams; events: log ${r.events.log.rows} ${r.events.log.sha256.slice(0, 16)}, database ${r.events.database.rows} ${r.events.database.sha256.slice(0, 16)}`);
        for (const d of r.differences.slice(0, SHOWN)) {
          const side = (f: typeof d.log) => (f ? `${f.rows} rows ${f.sha256.slice(0, 16)}` : 'none');
          console.log(`  ${d.scope} ${d.id} ${d.table}: log ${side(d.log)}, database ${side(d.database)}`);
        }
        if (r.differences.length > SHOWN) console.log(`  ... and ${r.differences.length - SHOWN} more differences`);
        console.log(r.ok ? 'the database agrees with the log' : `${r.differences.length} differences`);
        return r.ok ? EXIT.ok : EXIT.problem;
      }, { mustExist: true }),
    );
  },
};
