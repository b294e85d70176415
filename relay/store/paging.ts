// Page cursors and limits as every Store backend hands them out, so a cursor means the same thing
// whichever database is underneath.
import type { Page } from '../core/ports.ts';

// Cursors are the last id of the previous page. Callers treat them as opaque; keeping them plain
// decimal keeps them stable across restarts and backends with integer ids.
const CURSOR = /^[1-9][0-9]{0,15}$/;

export function encodeCursor(id: number): string {
  return String(id);
}

/** The exclusive upper id bound a cursor stands for; no cursor means "from the newest". */
export function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return Number.MAX_SAFE_INTEGER;
  if (!CURSOR.test(cursor)) throw new RangeError('Invalid page cursor');
  return Number(cursor);
}

export function checkLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('Page limit must be a positive integer');
  return limit;
}

/** `rows` holds one more than `limit` when another page follows. */
export function toPage<T extends { id: number }>(rows: T[], limit: number): Page<T> {
  if (rows.length <= limit) return { items: rows, next: null };
  const items = rows.slice(0, limit);
  return { items, next: encodeCursor(items[limit - 1]!.id) };
}

/** Ascending, each once, only ids that can exist. */
export function cleanIds(ids: readonly number[]): number[] {
  return [...new Set(ids)].filter((id) => Number.isSafeInteger(id) && id > 0).sort((a, b) => a - b);
}
