import { postgresBackend } from '../../src/backends/postgres/connect.js';
import { backendCompliance } from '../compliance/backend-compliance.js';
import { TEST_POSTGRES, postgresAvailable, schemaOf, schemaPerTest } from '../support/postgres.js';

if (postgresAvailable('postgres: backend compliance')) {
  backendCompliance('postgres', ({ dir }) => postgresBackend({ connectionString: TEST_POSTGRES!, schema: schemaOf(dir) }), schemaPerTest);
  backendCompliance('postgres-none', ({ dir }) => postgresBackend({ connectionString: TEST_POSTGRES!, schema: schemaOf(dir), durability: 'none' }), schemaPerTest);
}
