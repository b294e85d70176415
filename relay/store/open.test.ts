import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openStore } from './open.ts';
import { postgresTestUrl } from './postgres/test-db.ts';

const dir = mkdtempSync(join(tmpdir(), 'wisp-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openStore', () => {
  it.each([
    ['sqlite:', join(dir, 'a.db')],
    ['sqlite://', join(dir, 'b.db')],
    ['', join(dir, 'c.db')],
  ])('opens SQLite from %s<path>', async (prefix, file) => {
    const store = await openStore(prefix + file);
    await store.createUser('u', new Date(0));
    await store.close();
    const again = await openStore(file);
    expect(await again.countUsers()).toBe(1);
    await again.close();
  });

  it('opens an in-memory SQLite store', async () => {
    const store = await openStore('sqlite::memory:');
    await expect(store.ping()).resolves.toBeUndefined();
    await store.close();
  });

  it('opens PostgreSQL from postgres:// and postgresql:// URLs, in the schema ?schema= names', async () => {
    const schema = `wisp_open_${process.pid}_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: postgresTestUrl() });
    await admin.connect();
    try {
      const store = await openStore(postgresTestUrl(schema));
      await store.createUser('u', new Date(0));
      await store.close();
      const again = await openStore(postgresTestUrl(schema).replace(/^postgres:/, 'postgresql:'));
      expect(await again.countUsers()).toBe(1);
      await again.close();
      const { rows } = await admin.query('SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1', [schema]);
      expect(rows[0].n).toBeGreaterThan(5);
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });

  it('names neither the password of an unreachable PostgreSQL nor a bad schema name', async () => {
    const error = await openStore('postgres://wisp:hunter2@127.0.0.1:1/wisp').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).not.toMatch(/hunter2/);
    await expect(openStore('postgres://127.0.0.1/wisp?schema=Bad-Name')).rejects.toThrow(/schema=Bad-Name/);
  });

  it('rejects other schemes without echoing the URL', async () => {
    const error = await openStore('mysql://root:hunter2@db/wisp').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/mysql/);
    expect((error as Error).message).not.toMatch(/hunter2/);
  });

  it('rejects a URL without a path', async () => {
    await expect(openStore('sqlite:')).rejects.toThrow(/names no database file/);
    await expect(openStore('')).rejects.toThrow(/names no database file/);
  });
});
