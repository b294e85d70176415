// From a `postgres://` URL to the settings every connection of one relay node uses: the pool of the
// store, the bus's LISTEN connection and the sessions that hold advisory locks must all land in the
// same database and schema.
import type pg from 'pg';
import { types } from './rows.ts';

export interface PostgresSettings {
  /** What pg.Client and pg.Pool take, minus the pool's own options. */
  config: pg.ClientConfig;
  /** The schema named by `?schema=`, created on first use; null: the server's search_path decides. */
  schema: string | null;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Accepts what libpq-style URLs carry (user, password, host, port, database, sslmode, options,
 * application_name…) plus `schema=NAME`, Wisp's own: every table lives in that schema, which lets
 * several deployments (or test runs) share one database.
 */
export function postgresSettings(url: string): PostgresSettings {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Only the scheme: a URL may carry a password.
    throw new Error('The PostgreSQL URL is not valid (expected postgres://user:password@host:port/database)');
  }
  const schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  if (schema !== null && !IDENTIFIER.test(schema)) {
    throw new Error(`schema=${schema} is not a plain lowercase identifier (letters, digits, _)`);
  }
  const config: pg.ClientConfig = {
    connectionString: parsed.toString(),
    types,
    keepAlive: true,
    connectionTimeoutMillis: 10_000,
  };
  if (!parsed.searchParams.has('application_name')) config.application_name = 'wisp-relay';
  if (schema !== null) {
    // Set at connection start, so every statement of every connection sees the same tables.
    const given = parsed.searchParams.get('options');
    config.options = `${given ? `${given} ` : ''}-c search_path=${schema}`;
  }
  return { config, schema };
}

/** The schema this connection creates tables in; makes the one `?schema=` names when missing. */
export async function resolveSchema(client: pg.ClientBase, wanted: string | null): Promise<string> {
  if (wanted !== null) {
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${wanted}`);
    } catch (error) {
      // Two nodes creating it at once: one wins, the other sees it exist (23505/42P06).
      const code = (error as { code?: string }).code;
      if (code !== '23505' && code !== '42P06') throw error;
    }
  }
  const { rows } = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
  const schema = rows[0]?.schema ?? null;
  if (schema === null) throw new Error('No schema of the search_path exists in this database: create one, or add ?schema=NAME to the URL');
  return schema;
}

/** True for an error of the connection rather than of the statement: the client must be discarded. */
export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string') return /^(08|57P0[1-3])/.test(e.code) || ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(e.code);
  return typeof e.message === 'string' && /Connection terminated|not queryable|Client was closed/i.test(e.message);
}
