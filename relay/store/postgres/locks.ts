// Advisory locks of the shared database: how relay nodes agree which of them does a piece of
// background work. Keys are scoped by schema (rows.ts lockKey).
import pg from 'pg';
import type { HeldLock, Locks } from '../../core/ports.ts';
import { isConnectionError } from './connect.ts';
import { lockKey } from './rows.ts';
import type { PostgresStore } from './store.ts';

/** A held lock's connection is checked this often, so a dead one is noticed and the job stops. */
const CHECK_MS = 10_000;

export class PostgresLocks implements Locks {
  constructor(private readonly store: PostgresStore) {}

  /** Session-level lock on a pooled connection; a connection that breaks takes its lock with it. */
  async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    const key = lockKey(this.store.schema, name);
    const client = await this.store.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('SELECT pg_advisory_lock($1, $2)', key);
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, $2)', key).catch((e: Error) => (broken = e));
      }
    } catch (error) {
      if (isConnectionError(error)) broken = error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** Its own connection, not a pooled one: the lock lives exactly as long as that session. */
  async tryHold(name: string): Promise<HeldLock | null> {
    const key = lockKey(this.store.schema, name);
    const client = new pg.Client({ ...this.store.settings.config, application_name: 'wisp-lock' });
    let ended = false;
    let end!: () => void;
    const lost = new Promise<void>((resolve) => (end = resolve));
    const finish = () => {
      if (ended) return;
      ended = true;
      clearInterval(check);
      end();
      void client.end().catch(() => {});
    };
    client.on('error', finish);
    client.on('end', finish);
    const check = setInterval(() => void client.query('SELECT 1').catch(finish), CHECK_MS);
    check.unref();
    try {
      await client.connect();
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', key);
      if (!rows[0]?.ok) {
        finish();
        return null;
      }
    } catch (error) {
      finish();
      throw error;
    }
    return {
      lost,
      release: async () => {
        if (ended) return;
        await client.query('SELECT pg_advisory_unlock($1, $2)', key).catch(() => {});
        finish();
      },
    };
  }
}
