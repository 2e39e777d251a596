import { suite } from 'uvu';
import { backendComplianceSuite } from '../../src/testing/index.js';
import { postgresAlways, postgresNone } from '../support/compliance-backends.js';
import { postgresAvailable, schemaPerTest } from '../support/postgres.js';

if (postgresAvailable('postgres: backend compliance')) {
  const backends = new URL('../support/compliance-backends.ts', import.meta.url);

  const always = suite('postgres: backend compliance');
  backendComplianceSuite({ test: always, name: 'postgres', makeBackend: postgresAlways, durability: 'always', backendModule: { url: backends, name: 'postgresAlways' }, ...schemaPerTest });
  always.run();

  const none = suite('postgres-none: backend compliance');
  backendComplianceSuite({ test: none, name: 'postgres-none', makeBackend: postgresNone, durability: 'none', backendModule: { url: backends, name: 'postgresNone' }, ...schemaPerTest });
  none.run();
}
