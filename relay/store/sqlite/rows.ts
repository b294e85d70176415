// Row shapes as SQLite returns them, and their mapping to the records of core/ports.ts.
import type { AliasRecord, MessageRecord, User, UserListing } from '../../core/ports.ts';

export interface UserRow {
  id: number;
  name: string;
  created_at: number;
}

export interface UserListingRow extends UserRow {
  alias_count: number;
  message_count: number;
}

export interface AliasRow {
  id: number;
  user_id: number;
  address: string;
  site: string | null;
  label: string | null;
  active: number;
  created_at: number;
  expires_at: number | null;
  expired: number;
  message_count: number;
  last_message_at: number | null;
}

/** A message joined with its address; never the raw body. */
export interface MessageRow {
  id: number;
  user_id: number;
  alias_id: number;
  alias: string;
  site: string | null;
  received_at: number;
  size: number;
  from_addr: string;
  subject: string;
  preview: string;
  code: string | null;
  link: string | null;
  seen: number;
}

export const ALIAS_COLUMNS =
  'id, user_id, address, site, label, active, created_at, expires_at, expired, message_count, last_message_at';

export const MESSAGE_COLUMNS = `m.id, m.user_id, m.alias_id, a.address AS alias, a.site, m.received_at, m.size,
  m.from_addr, m.subject, m.preview, m.code, m.link, m.seen`;

export function toUser(row: UserRow): User {
  return { id: row.id, name: row.name, createdAt: new Date(row.created_at) };
}

export function toUserListing(row: UserListingRow): UserListing {
  return { ...toUser(row), aliasCount: row.alias_count, messageCount: row.message_count };
}

export function toAlias(row: AliasRow): AliasRecord {
  return {
    id: row.id,
    userId: row.user_id,
    address: row.address,
    site: row.site,
    label: row.label,
    active: row.active === 1,
    createdAt: new Date(row.created_at),
    expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
    expired: row.expired === 1,
    messageCount: row.message_count,
    lastMessageAt: row.last_message_at === null ? null : new Date(row.last_message_at),
  };
}

export function toMessage(row: MessageRow): MessageRecord {
  return {
    id: row.id,
    userId: row.user_id,
    aliasId: row.alias_id,
    alias: row.alias,
    site: row.site,
    receivedAt: new Date(row.received_at),
    size: row.size,
    seen: row.seen === 1,
    from: row.from_addr,
    subject: row.subject,
    preview: row.preview,
    code: row.code,
    link: row.link,
  };
}

/** Dates become ms since the epoch; an invalid Date is a caller's bug, not a NULL. */
export function ms(date: Date): number {
  const t = date.getTime();
  if (!Number.isFinite(t)) throw new RangeError('Invalid Date given to the store');
  return t;
}

export function msOrNull(date: Date | null): number | null {
  return date === null ? null : ms(date);
}
