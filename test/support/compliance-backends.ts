/**
 * The backends our test files run the compliance suite on, one export each, so
 * that the suite's child processes (its `backendModule`) build the same backend
 * from a folder as the test process does.
 */
import { FlatfileBackend } from '../../src/backends/flatfile/flatfile-backend.js';
import { postgresBackend } from '../../src/backends/postgres/connect.js';
import type { StorageBackend } from '../../src/backends/backend.js';
import { TEST_POSTGRES, schemaOf } from './postgres.js';

export const flatfileNone = ({ dir }: { dir: string }): StorageBackend => new FlatfileBackend({ dir, durability: 'none' });
export const flatfileAlways = ({ dir }: { dir: string }): StorageBackend => new FlatfileBackend({ dir, durability: 'always' });
export const postgresAlways = ({ dir }: { dir: string }): StorageBackend => postgresBackend({ connectionString: TEST_POSTGRES!, schema: schemaOf(dir) });
export const postgresNone = ({ dir }: { dir: string }): StorageBackend =>
  postgresBackend({ connectionString: TEST_POSTGRES!, schema: schemaOf(dir), durability: 'none' });
