// Tokens are the users' passwords everywhere. They carry 256 random bits, so a fast hash is
// enough to keep a stolen database from revealing them; only the hash is stored.
import { createHash, randomBytes } from 'node:crypto';

const PREFIX = 'wisp_';

export function newToken(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Cheap shape check, so garbage never reaches the database. */
export function looksLikeToken(token: unknown): token is string {
  return typeof token === 'string' && token.length >= 20 && token.length <= 200 && /^[\x21-\x7e]+$/.test(token);
}
