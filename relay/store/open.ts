// Picks the storage backend from the configured URL. The composition root calls this; nothing else
// needs to know which database is behind the Store.
import type { Store } from '../core/ports.ts';
import { openSqliteStore } from './sqlite/store.ts';

export interface OpenOptions {
  /** PostgreSQL: errors of idle pooled connections, which are otherwise dropped. */
  onError?: (error: unknown) => void;
  /** PostgreSQL: connections in the pool (default 8). */
  poolSize?: number;
}

/**
 * `sqlite:<path>`, `sqlite://<path>` or a bare file path open the embedded SQLite store;
 * `postgres://` and `postgresql://` URLs the shared PostgreSQL store.
 */
export async function openStore(url: string, options: OpenOptions = {}): Promise<Store> {
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return openSqliteStore(requirePath(url, url));
  if (scheme === 'sqlite') return openSqliteStore(requirePath(url.slice('sqlite:'.length).replace(/^\/\//, ''), url));
  if (isPostgresUrl(url)) {
    // Loaded only when asked for, so an SQLite relay never loads the pg driver.
    const { openPostgresStore } = await import('./postgres/store.ts');
    return openPostgresStore(url, options);
  }
  // Only the scheme: a URL may carry a password.
  throw new Error(`Unsupported storage URL scheme "${scheme}:" (use sqlite:<path> or postgres://user@host/db)`);
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:/i.test(url);
}

function requirePath(path: string, url: string): string {
  if (path === '') throw new Error(`Storage URL "${url}" names no database file`);
  return path;
}
