// Row shapes as PostgreSQL returns them (bigint parsed to number, timestamptz to Date, bytea to
// Buffer), their mapping to the records of core/ports.ts, and the connection settings every
// connection of one store shares.
import pg from 'pg';
import type { AliasRecord, MailboxEntry, MessageRecord, OutboundJob, User, UserListing } from '../../core/ports.ts';
import { joinStoredFlags } from '../flags.ts';

export interface UserRow {
  id: number;
  name: string;
  created_at: Date;
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
  active: boolean;
  created_at: Date;
  expires_at: Date | null;
  expired: boolean;
  message_count: number;
  last_message_at: Date | null;
}

/** A message joined with its address; never the raw body. */
export interface MessageRow {
  id: number;
  user_id: number;
  alias_id: number;
  alias: string;
  site: string | null;
  received_at: Date;
  size: number;
  from_addr: string;
  subject: string;
  preview: string;
  code: string | null;
  link: string | null;
  seen: boolean;
}

export interface EntryRow {
  id: number;
  alias_id: number;
  size: number;
  received_at: Date;
  seen: boolean;
  flags: string | null;
}

export interface JobRow {
  id: number;
  message_id: number;
  user_id: number;
  mail_from: string;
  recipients: string[];
  raw: Buffer;
  created_at: Date;
  attempts: number;
  last_error: string | null;
}

export const USER_COLUMNS = 'id, name, created_at';

export const ALIAS_COLUMNS =
  'id, user_id, address, site, label, active, created_at, expires_at, expired, message_count, last_message_at';

export const MESSAGE_COLUMNS = `m.id, m.user_id, m.alias_id, a.address AS alias, a.site, m.received_at, m.size,
  m.from_addr, m.subject, m.preview, m.code, m.link, m.seen`;

export const ENTRY_COLUMNS = 'm.id, m.alias_id, m.size, m.received_at, m.seen, m.flags';

export function toUser(row: UserRow): User {
  return { id: row.id, name: row.name, createdAt: row.created_at };
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
    active: row.active,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    expired: row.expired,
    messageCount: row.message_count,
    lastMessageAt: row.last_message_at,
  };
}

export function toMessage(row: MessageRow): MessageRecord {
  return {
    id: row.id,
    userId: row.user_id,
    aliasId: row.alias_id,
    alias: row.alias,
    site: row.site,
    receivedAt: row.received_at,
    size: row.size,
    seen: row.seen,
    from: row.from_addr,
    subject: row.subject,
    preview: row.preview,
    code: row.code,
    link: row.link,
  };
}

export function toEntry(row: EntryRow): MailboxEntry {
  return {
    id: row.id,
    aliasId: row.alias_id,
    size: row.size,
    receivedAt: row.received_at,
    flags: joinStoredFlags(row.seen, row.flags),
  };
}

export function toJob(row: JobRow): OutboundJob {
  return {
    id: row.id,
    messageId: row.message_id,
    userId: row.user_id,
    mailFrom: row.mail_from,
    recipients: row.recipients,
    raw: row.raw,
    createdAt: row.created_at,
    attempts: row.attempts,
    lastError: row.last_error,
  };
}

/** An invalid Date is a caller's bug, not a NULL. */
export function checkDate(date: Date): Date {
  if (!Number.isFinite(date.getTime())) throw new RangeError('Invalid Date given to the store');
  return date;
}

// bigint (ids, counts) as JS numbers: ids stay far below 2^53, and the Store's types say number.
const INT8 = 20;
const parseInt8 = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${value} does not fit a JS number`);
  return n;
};

export const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * Advisory lock keys are two int4s: a constant for Wisp, and a hash of the schema and the lock's
 * name, so deployments in different schemas of one database never block each other.
 */
const WISP = 0x57495350; // "WISP"

export function lockKey(schema: string, name: string): [number, number] {
  return [WISP | 0, fnv1a(`${schema}\u0000${name}`)];
}

/** 32-bit FNV-1a over UTF-8, as a signed int4. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}
