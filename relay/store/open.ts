// Picks the storage backend from the configured URL. The composition root calls this; nothing else
// needs to know which database is behind the Store.
import type { Store } from '../core/ports.ts';
import { openSqliteStore } from './sqlite/store.ts';

/**
 * `sqlite:<path>`, `sqlite://<path>` or a bare file path open the embedded SQLite store.
 * PostgreSQL URLs are recognised but not yet supported.
 */
export async function openStore(url: string): Promise<Store> {
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return openSqliteStore(requirePath(url, url));
  if (scheme === 'sqlite') return openSqliteStore(requirePath(url.slice('sqlite:'.length).replace(/^\/\//, ''), url));
  if (scheme === 'postgres' || scheme === 'postgresql') {
    throw new Error('PostgreSQL storage is not available in this build yet');
  }
  // Only the scheme: a URL may carry a password.
  throw new Error(`Unsupported storage URL scheme "${scheme}:" (use sqlite:<path>)`);
}

function requirePath(path: string, url: string): string {
  if (path === '') throw new Error(`Storage URL "${url}" names no database file`);
  return path;
}
