import { rollbackMigration } from '../../migration/index.js';
import { type Command, EXIT } from '../command.js';
import { TARGET_OPTIONS, TARGET_USAGE, noPositionals, withTarget } from './migrate-target.js';

export const migrateRollbackCommand: Command = {
  name: 'migrate rollback',
  usage: `ffcdb migrate rollback ${TARGET_USAGE}   drop what the migration created, nothing else`,
  options: TARGET_OPTIONS,
  run(values, positionals) {
    noPositionals(positionals);
    return withTarget(values, async (target) => {
      const r = await rollbackMigration(target);
      console.log(`dropped ${r.dropped.length} tables from ${target.description}${r.namespace ? ', and the namespace the migration had created' : ''}`);
      return EXIT.ok;
    }, { mustExist: true });
  },
};
