// The embedded Store: one better-sqlite3 connection in WAL mode. better-sqlite3 is synchronous, so
// every method runs to completion without interleaving; only saveMessages is deferred, to batch
// concurrent deliveries into one fsync.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  AddressTakenError,
  type AliasPatch,
  type AliasRecord,
  type FlagMode,
  type FlagUpdate,
  type MailboxEntry,
  type MailboxScope,
  type MailboxStatus,
  type MessageQuery,
  type MessageRecord,
  type NewAlias,
  type NewMessage,
  type NewOutbound,
  type OutboundJob,
  type Page,
  type Store,
  type User,
  type UpstreamState,
  type UserListing,
} from '../../core/ports.ts';
import { headerBlock } from '../../core/header.ts';
import { migrate } from './migrations.ts';
import { applyFlags, joinStoredFlags, sameFlags, splitStoredFlags } from '../flags.ts';
import { checkLimit, cleanIds, decodeCursor, toPage } from '../paging.ts';
import {
  ALIAS_COLUMNS,
  MESSAGE_COLUMNS,
  ms,
  msOrNull,
  toAlias,
  toMessage,
  toUser,
  toUserListing,
  type AliasRow,
  type MessageRow,
  type UserListingRow,
  type UserRow,
} from './rows.ts';

/** A batch this large is written at once instead of waiting for the next turn of the loop. */
const FLUSH_MESSAGES = 1000;
const FLUSH_BYTES = 32 * 1024 * 1024;
/** Below this many matches a 'since' listing goes by arrival time rather than by id. */
export const SPARSE_SINCE = 2000;

interface PendingSave {
  messages: NewMessage[];
  resolve: (ids: number[]) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ids: number[] } | { error: unknown };

interface EntryRow {
  id: number;
  alias_id: number;
  size: number;
  received_at: number;
  seen: number;
  flags: string | null;
}

interface JobRow {
  id: number;
  message_id: number;
  user_id: number;
  mail_from: string;
  recipients: string;
  raw: Buffer;
  created_at: number;
  attempts: number;
  last_error: string | null;
}

function toJob(row: JobRow): OutboundJob {
  return {
    id: row.id,
    messageId: row.message_id,
    userId: row.user_id,
    mailFrom: row.mail_from,
    recipients: JSON.parse(row.recipients) as string[],
    raw: row.raw,
    createdAt: new Date(row.created_at),
    attempts: row.attempts,
    lastError: row.last_error,
  };
}

interface ScopedId {
  id: number;
  userId: number;
  aliasId: number | null;
}

function toEntry(row: EntryRow): MailboxEntry {
  return {
    id: row.id,
    aliasId: row.alias_id,
    size: row.size,
    receivedAt: new Date(row.received_at),
    flags: joinStoredFlags(row.seen === 1, row.flags),
  };
}

/** Opens (creating when needed) the database file and brings its schema up to date. */
export async function openSqliteStore(file: string): Promise<SqliteStore> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    // First, so that everything after it waits for another connection (the ingest worker) rather
    // than failing with SQLITE_BUSY.
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    // FULL: a commit is fsynced before it returns, so "250" really means on disk.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return new SqliteStore(db);
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Prepared once per connection: every query the store runs is here. */
function prepareStatements(db: Database.Database) {
  return {
    ping: db.prepare<[], { ok: number }>('SELECT 1 AS ok'),

    createUser: db.prepare<[string, number], UserRow>(
      'INSERT INTO users (name, created_at) VALUES (?, ?) RETURNING id, name, created_at',
    ),
    userByName: db.prepare<[string], UserRow>('SELECT id, name, created_at FROM users WHERE name = ?'),
    userById: db.prepare<[number], UserRow>('SELECT id, name, created_at FROM users WHERE id = ?'),
    listUsers: db.prepare<[], UserListingRow>(`
      SELECT u.id, u.name, u.created_at,
        (SELECT count(*) FROM aliases a WHERE a.user_id = u.id) AS alias_count,
        (SELECT coalesce(sum(a.message_count), 0) FROM aliases a WHERE a.user_id = u.id) AS message_count
      FROM users u ORDER BY u.id`),
    countUsers: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM users'),
    deleteUser: db.prepare<[string]>('DELETE FROM users WHERE name = ?'),
    addToken: db.prepare<[number, string, number]>(
      'INSERT INTO tokens (user_id, hash, created_at) VALUES (?, ?, ?)',
    ),
    userByToken: db.prepare<[string], UserRow>(
      'SELECT u.id, u.name, u.created_at FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?',
    ),

    createAlias: db.prepare<[number, string, string | null, string | null, number, number | null], AliasRow>(
      `INSERT INTO aliases (user_id, address, site, label, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?) RETURNING ${ALIAS_COLUMNS}`,
    ),
    aliasByAddress: db.prepare<[string], AliasRow>(`SELECT ${ALIAS_COLUMNS} FROM aliases WHERE address = ?`),
    aliasById: db.prepare<[number], AliasRow>(`SELECT ${ALIAS_COLUMNS} FROM aliases WHERE id = ?`),
    listAliases: db.prepare<[number, number, number], AliasRow>(
      `SELECT ${ALIAS_COLUMNS} FROM aliases WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
    ),
    // One statement for every patch shape: a flag per field says whether to touch it.
    updateAlias: db.prepare<
      [{ id: number; site: string | null; setLabel: number; label: string | null; setActive: number; active: number; setExpires: number; expiresAt: number | null }],
      AliasRow
    >(`
      UPDATE aliases SET
        site = coalesce(site, @site),
        label = CASE WHEN @setLabel THEN @label ELSE label END,
        active = CASE WHEN @setActive THEN @active ELSE active END,
        expires_at = CASE WHEN @setExpires THEN @expiresAt ELSE expires_at END,
        expired = CASE WHEN @setExpires THEN 0 ELSE expired END
      WHERE id = @id RETURNING ${ALIAS_COLUMNS}`),
    deleteAlias: db.prepare<[number]>('DELETE FROM aliases WHERE id = ?'),
    dueForExpiry: db.prepare<[number, number], AliasRow>(
      `SELECT ${ALIAS_COLUMNS} FROM aliases
       WHERE expired = 0 AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`,
    ),
    deleteAliasMessages: db.prepare<[number]>('DELETE FROM messages WHERE alias_id = ?'),
    markExpired: db.prepare<[number], AliasRow>(
      `UPDATE aliases SET expired = 1, message_count = 0, last_message_at = NULL
       WHERE id = ? RETURNING ${ALIAS_COLUMNS}`,
    ),
    nextExpiry: db.prepare<[], { t: number | null }>(
      'SELECT min(expires_at) AS t FROM aliases WHERE expired = 0 AND expires_at IS NOT NULL',
    ),

    insertMessage: db.prepare<
      [number, number, number, number, string, string, string, string, string | null, string | null, Buffer]
    >(`INSERT INTO messages
         (user_id, alias_id, received_at, size, mail_from, from_addr, subject, preview, code, link, raw)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    insertHeader: db.prepare<[number, Buffer]>('INSERT INTO message_headers (message_id, header) VALUES (?, ?)'),
    countArrival: db.prepare<[{ at: number; aliasId: number; id: number }]>(
      `UPDATE aliases SET message_count = message_count + 1,
         last_message_at = max(coalesce(last_message_at, @at), @at),
         uid_next = max(uid_next, @id + 1)
       WHERE id = @aliasId`,
    ),
    countUserArrival: db.prepare<[{ userId: number; id: number }]>(
      'UPDATE users SET uid_next = max(uid_next, @id + 1) WHERE id = @userId',
    ),
    message: db.prepare<[number, number], MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN aliases a ON a.id = m.alias_id
       WHERE m.id = ? AND m.user_id = ?`,
    ),
    raw: db.prepare<[number, number], { raw: Buffer }>('SELECT raw FROM messages WHERE id = ? AND user_id = ?'),
    listMessages: db.prepare<[{ userId: number; before: number; since: number; limit: number }], MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m INDEXED BY messages_user JOIN aliases a ON a.id = m.alias_id
       WHERE m.user_id = @userId AND m.id < @before AND m.received_at > @since
       ORDER BY m.id DESC LIMIT @limit`,
    ),
    // For a 'since' that few messages pass: the index on arrival time finds them, then only the
    // page's ids are sorted (index-only) before the page itself is read.
    countSince: db.prepare<[number, number, number], { n: number }>(
      `SELECT count(*) AS n FROM (SELECT 1 FROM messages INDEXED BY messages_user_time
         WHERE user_id = ? AND received_at > ? LIMIT ?)`,
    ),
    listRecentMessages: db.prepare<[{ userId: number; before: number; since: number; limit: number }], MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM (
         SELECT id FROM messages INDEXED BY messages_user_time
         WHERE user_id = @userId AND received_at > @since AND id < @before
         ORDER BY id DESC LIMIT @limit
       ) AS page CROSS JOIN messages m ON m.id = page.id JOIN aliases a ON a.id = m.alias_id
       ORDER BY m.id DESC`,
    ),
    // The alias index, not the user's: one address holds a small share of a user's mail.
    listAliasMessages: db.prepare<
      [{ userId: number; aliasId: number; before: number; since: number; limit: number }],
      MessageRow
    >(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m INDEXED BY messages_alias JOIN aliases a ON a.id = m.alias_id
       WHERE m.alias_id = @aliasId AND m.user_id = @userId AND m.id < @before AND m.received_at > @since
       ORDER BY m.id DESC LIMIT @limit`,
    ),
    listAfter: db.prepare<[number, number, number], MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m INDEXED BY messages_user JOIN aliases a ON a.id = m.alias_id
       WHERE m.user_id = ? AND m.id > ? ORDER BY m.id LIMIT ?`,
    ),
    setSeen: db.prepare<[number, number, number]>('UPDATE messages SET seen = ? WHERE id = ? AND user_id = ?'),
    deleteMessage: db.prepare<[number, number], { alias_id: number; received_at: number }>(
      'DELETE FROM messages WHERE id = ? AND user_id = ? RETURNING alias_id, received_at',
    ),
    // Mailbox views for IMAP and POP3: no raw, and the flags row only where a message has one.
    mailboxUser: db.prepare<[{ userId: number; after: number }], EntryRow>(
      `SELECT m.id, m.alias_id, m.size, m.received_at, m.seen, f.flags
       FROM messages m INDEXED BY messages_user LEFT JOIN message_flags f ON f.message_id = m.id
       WHERE m.user_id = @userId AND m.id > @after ORDER BY m.id`,
    ),
    mailboxAlias: db.prepare<[{ userId: number; aliasId: number; after: number }], EntryRow>(
      `SELECT m.id, m.alias_id, m.size, m.received_at, m.seen, f.flags
       FROM messages m INDEXED BY messages_alias LEFT JOIN message_flags f ON f.message_id = m.id
       WHERE m.alias_id = @aliasId AND m.user_id = @userId AND m.id > @after ORDER BY m.id`,
    ),
    entry: db.prepare<[ScopedId], EntryRow>(
      `SELECT m.id, m.alias_id, m.size, m.received_at, m.seen, f.flags
       FROM messages m LEFT JOIN message_flags f ON f.message_id = m.id
       WHERE m.id = @id AND m.user_id = @userId AND (@aliasId IS NULL OR m.alias_id = @aliasId)`,
    ),
    scopedRaw: db.prepare<[ScopedId], { raw: Buffer }>(
      'SELECT raw FROM messages WHERE id = @id AND user_id = @userId AND (@aliasId IS NULL OR alias_id = @aliasId)',
    ),
    // A whole batch in one statement (ids as a JSON array, which json_each walks in order): a
    // statement call per message costs more than the reads. Rows as arrays (raw mode).
    scopedRaws: db
      .prepare<[{ ids: string; userId: number; aliasId: number | null }], [number, Buffer]>(
        `SELECT m.id, m.raw FROM json_each(@ids) j CROSS JOIN messages m ON m.id = j.value
         WHERE m.user_id = @userId AND (@aliasId IS NULL OR m.alias_id = @aliasId)`,
      )
      .raw(true),
    // Likewise. The scope is checked on the messages row, whose first page holds user_id and
    // alias_id: raw's overflow pages are never read. A message without a header row (none should
    // be) comes back with a NULL header, and its header is cut from raw.
    scopedHeaders: db
      .prepare<[{ ids: string; userId: number; aliasId: number | null }], [number, Buffer | null]>(
        `SELECT m.id, h.header FROM json_each(@ids) j CROSS JOIN messages m ON m.id = j.value
         LEFT JOIN message_headers h ON h.message_id = m.id
         WHERE m.user_id = @userId AND (@aliasId IS NULL OR m.alias_id = @aliasId)`,
      )
      .raw(true),
    writeSeen: db.prepare<[number, number]>('UPDATE messages SET seen = ? WHERE id = ?'),
    writeFlags: db.prepare<[number, string]>(
      `INSERT INTO message_flags (message_id, flags) VALUES (?, ?)
       ON CONFLICT (message_id) DO UPDATE SET flags = excluded.flags`,
    ),
    clearFlags: db.prepare<[number]>('DELETE FROM message_flags WHERE message_id = ?'),
    expunge: db.prepare<[ScopedId], { alias_id: number; received_at: number }>(
      `DELETE FROM messages WHERE id = @id AND user_id = @userId AND (@aliasId IS NULL OR alias_id = @aliasId)
       RETURNING alias_id, received_at`,
    ),
    countUser: db.prepare<[number], { messages: number; unseen: number }>(
      `SELECT count(*) AS messages, coalesce(sum(seen = 0), 0) AS unseen
       FROM messages INDEXED BY messages_user WHERE user_id = ?`,
    ),
    countAlias: db.prepare<[number, number], { messages: number; unseen: number }>(
      `SELECT count(*) AS messages, coalesce(sum(seen = 0), 0) AS unseen
       FROM messages INDEXED BY messages_alias WHERE alias_id = ? AND user_id = ?`,
    ),
    userUidNext: db.prepare<[number], { uid_next: number }>('SELECT uid_next FROM users WHERE id = ?'),
    aliasUidNext: db.prepare<[number, number], { uid_next: number }>('SELECT uid_next FROM aliases WHERE id = ? AND user_id = ?'),
    insertOutbound: db.prepare<[number, string, number, Buffer], { id: number }>(
      'INSERT INTO outbound_messages (user_id, mail_from, created_at, raw) VALUES (?, ?, ?, ?) RETURNING id',
    ),
    insertJob: db.prepare<[number, string, number]>(
      'INSERT INTO outbound_jobs (message_id, recipients, next_attempt_at) VALUES (?, ?, ?)',
    ),
    dueJobs: db.prepare<[number, number], { id: number }>(
      'SELECT id FROM outbound_jobs WHERE next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?',
    ),
    leaseJob: db.prepare<[number, number], JobRow>(
      `UPDATE outbound_jobs SET next_attempt_at = ?, attempts = attempts + 1 WHERE id = ?
       RETURNING id, message_id, recipients, attempts, last_error,
         (SELECT user_id FROM outbound_messages WHERE id = message_id) AS user_id,
         (SELECT mail_from FROM outbound_messages WHERE id = message_id) AS mail_from,
         (SELECT created_at FROM outbound_messages WHERE id = message_id) AS created_at,
         (SELECT raw FROM outbound_messages WHERE id = message_id) AS raw`,
    ),
    deleteJob: db.prepare<[number], { message_id: number }>('DELETE FROM outbound_jobs WHERE id = ? RETURNING message_id'),
    deleteOrphanOutbound: db.prepare<[{ id: number }]>(
      'DELETE FROM outbound_messages WHERE id = @id AND NOT EXISTS (SELECT 1 FROM outbound_jobs WHERE message_id = @id)',
    ),
    rescheduleJob: db.prepare<[{ id: number; recipients: string; at: number; error: string }]>(
      'UPDATE outbound_jobs SET recipients = @recipients, next_attempt_at = @at, last_error = @error WHERE id = @id',
    ),
    nextJob: db.prepare<[], { t: number | null }>('SELECT min(next_attempt_at) AS t FROM outbound_jobs'),
    upstreamState: db.prepare<[string], { uid_validity: number; last_uid: number; pending_uid: number | null; pending_at: number | null }>(
      'SELECT uid_validity, last_uid, pending_uid, pending_at FROM upstream_state WHERE key = ?',
    ),
    saveUpstreamState: db.prepare<[{ key: string; uidValidity: number; lastUid: number; pendingUid: number | null; pendingAt: number | null; now: number }]>(
      `INSERT INTO upstream_state (key, uid_validity, last_uid, pending_uid, pending_at, updated_at)
       VALUES (@key, @uidValidity, @lastUid, @pendingUid, @pendingAt, @now)
       ON CONFLICT (key) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid,
         pending_uid = excluded.pending_uid, pending_at = excluded.pending_at, updated_at = excluded.updated_at`,
    ),
    // Only rescans the address's mail when the newest message is the one that went.
    countDeparture: db.prepare<[{ at: number; aliasId: number }]>(
      `UPDATE aliases SET message_count = message_count - 1,
         last_message_at = CASE WHEN last_message_at > @at THEN last_message_at
           ELSE (SELECT max(received_at) FROM messages WHERE alias_id = @aliasId) END
       WHERE id = @aliasId`,
    ),
  };
}

export class SqliteStore implements Store {
  /** Counters for /metrics and tests: how many group commits wrote how many messages. */
  readonly stats = { flushes: 0, messages: 0 };

  private closed = false;
  private queue: PendingSave[] = [];
  private queuedMessages = 0;
  private queuedBytes = 0;
  private flushTimer: NodeJS.Immediate | null = null;

  private readonly s: ReturnType<typeof prepareStatements>;
  private readonly insertMessages: Database.Transaction<(messages: NewMessage[]) => number[]>;
  private readonly flushBatch: Database.Transaction<(batch: PendingSave[]) => Outcome[]>;
  private readonly expireTx: Database.Transaction<(id: number) => AliasRow | undefined>;
  private readonly deleteMessageTx: Database.Transaction<(userId: number, id: number) => boolean>;
  private readonly updateFlagsTx: Database.Transaction<
    (scope: MailboxScope, ids: number[], mode: FlagMode, flags: string[]) => FlagUpdate[]
  >;
  private readonly expungeTx: Database.Transaction<(scope: MailboxScope, ids: number[]) => number[]>;
  private readonly enqueueTx: Database.Transaction<(message: NewOutbound) => number>;
  private readonly claimTx: Database.Transaction<(now: number, until: number, limit: number) => JobRow[]>;
  private readonly completeTx: Database.Transaction<(jobId: number) => void>;

  /** Expects an open, migrated database; openSqliteStore prepares one. */
  constructor(readonly db: Database.Database) {
    this.s = prepareStatements(db);
    const s = this.s;

    // Nested inside flushBatch it runs as a SAVEPOINT: a bad batch rolls back alone and only its
    // caller is rejected, while the rest of the group still commits.
    this.insertMessages = db.transaction((messages: NewMessage[]): number[] =>
      messages.map((m) => {
        const receivedAt = ms(m.receivedAt);
        const info = s.insertMessage.run(
          m.userId,
          m.aliasId,
          receivedAt,
          m.raw.length,
          m.mailFrom,
          m.from,
          m.subject,
          m.preview,
          m.code,
          m.link,
          m.raw,
        );
        const id = Number(info.lastInsertRowid);
        s.insertHeader.run(id, headerBlock(m.raw));
        s.countArrival.run({ at: receivedAt, aliasId: m.aliasId, id });
        s.countUserArrival.run({ userId: m.userId, id });
        return id;
      }),
    );
    this.flushBatch = db.transaction((batch: PendingSave[]): Outcome[] =>
      batch.map((p) => {
        try {
          return { ids: this.insertMessages(p.messages) };
        } catch (error) {
          return { error };
        }
      }),
    );
    // Write transactions are started IMMEDIATE (see their callers): with a second connection on the
    // file, a deferred one that read first could not be upgraded and would fail instead of waiting.
    this.expireTx = db.transaction((id: number): AliasRow | undefined => {
      s.deleteAliasMessages.run(id);
      return s.markExpired.get(id);
    });
    this.deleteMessageTx = db.transaction((userId: number, id: number): boolean => {
      const gone = s.deleteMessage.get(id, userId);
      if (!gone) return false;
      s.countDeparture.run({ at: gone.received_at, aliasId: gone.alias_id });
      return true;
    });
    this.updateFlagsTx = db.transaction((scope: MailboxScope, ids: number[], mode: FlagMode, flags: string[]): FlagUpdate[] => {
      const out: FlagUpdate[] = [];
      for (const id of ids) {
        const row = s.entry.get({ id, userId: scope.userId, aliasId: scope.aliasId ?? null });
        if (!row) continue;
        const before = joinStoredFlags(row.seen === 1, row.flags);
        const after = applyFlags(before, mode, flags);
        const changed = !sameFlags(before, after);
        if (changed) {
          const stored = splitStoredFlags(after);
          if (stored.seen !== (row.seen === 1)) s.writeSeen.run(stored.seen ? 1 : 0, id);
          if (stored.rest) s.writeFlags.run(id, stored.rest);
          else if (row.flags !== null) s.clearFlags.run(id);
        }
        out.push({ id, flags: after, changed });
      }
      return out;
    });
    this.expungeTx = db.transaction((scope: MailboxScope, ids: number[]): number[] => {
      const gone: number[] = [];
      for (const id of ids) {
        const row = s.expunge.get({ id, userId: scope.userId, aliasId: scope.aliasId ?? null });
        if (!row) continue;
        s.countDeparture.run({ at: row.received_at, aliasId: row.alias_id });
        gone.push(id);
      }
      return gone;
    });
    this.enqueueTx = db.transaction((m: NewOutbound): number => {
      const { id } = s.insertOutbound.get(m.userId, m.mailFrom, ms(m.createdAt), m.raw)!;
      for (const group of m.recipientGroups) if (group.length > 0) s.insertJob.run(id, JSON.stringify(group), ms(m.createdAt));
      return id;
    });
    this.claimTx = db.transaction((now: number, until: number, limit: number): JobRow[] =>
      s.dueJobs.all(now, limit).map(({ id }) => s.leaseJob.get(until, id)!),
    );
    this.completeTx = db.transaction((jobId: number) => {
      const row = s.deleteJob.get(jobId);
      if (row) s.deleteOrphanOutbound.run({ id: row.message_id });
    });
  }

  async ping(): Promise<void> {
    this.s.ping.get();
  }

  /** Writes what is still queued, then closes. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    this.db.close();
  }

  async createUser(name: string, createdAt: Date): Promise<User> {
    return toUser(this.s.createUser.get(name, ms(createdAt))!);
  }

  async getUserByName(name: string): Promise<User | null> {
    const row = this.s.userByName.get(name);
    return row ? toUser(row) : null;
  }

  async getUserById(id: number): Promise<User | null> {
    const row = this.s.userById.get(id);
    return row ? toUser(row) : null;
  }

  async listUsers(): Promise<UserListing[]> {
    return this.s.listUsers.all().map(toUserListing);
  }

  async countUsers(): Promise<number> {
    return this.s.countUsers.get()!.n;
  }

  async deleteUser(name: string): Promise<boolean> {
    return this.s.deleteUser.run(name).changes > 0;
  }

  async addToken(userId: number, tokenHash: string, createdAt: Date): Promise<void> {
    this.s.addToken.run(userId, tokenHash, ms(createdAt));
  }

  async findUserByTokenHash(tokenHash: string): Promise<User | null> {
    const row = this.s.userByToken.get(tokenHash);
    return row ? toUser(row) : null;
  }

  async createAlias(alias: NewAlias): Promise<AliasRecord> {
    const address = alias.address.toLowerCase();
    try {
      const row = this.s.createAlias.get(
        alias.userId,
        address,
        alias.site,
        alias.label,
        ms(alias.createdAt),
        msOrNull(alias.expiresAt),
      );
      return toAlias(row!);
    } catch (error) {
      if (isUniqueViolation(error, 'aliases.address')) throw new AddressTakenError(address);
      throw error;
    }
  }

  async getAlias(address: string): Promise<AliasRecord | null> {
    const row = this.s.aliasByAddress.get(address.toLowerCase());
    return row ? toAlias(row) : null;
  }

  async getAliasById(id: number): Promise<AliasRecord | null> {
    const row = this.s.aliasById.get(id);
    return row ? toAlias(row) : null;
  }

  async listAliases(userId: number, page: { cursor?: string; limit: number }): Promise<Page<AliasRecord>> {
    const limit = checkLimit(page.limit);
    // One row more than asked tells whether another page exists, so the last page says next: null.
    const rows = this.s.listAliases.all(userId, decodeCursor(page.cursor), limit + 1);
    return toPage(rows.map(toAlias), limit);
  }

  async updateAlias(id: number, patch: AliasPatch): Promise<AliasRecord | null> {
    const row = this.s.updateAlias.get({
      id,
      site: patch.site ?? null,
      setLabel: patch.label !== undefined ? 1 : 0,
      label: patch.label ?? null,
      setActive: patch.active !== undefined ? 1 : 0,
      active: patch.active ? 1 : 0,
      setExpires: patch.expiresAt !== undefined ? 1 : 0,
      expiresAt: patch.expiresAt ? ms(patch.expiresAt) : null,
    });
    return row ? toAlias(row) : null;
  }

  async deleteAlias(id: number): Promise<boolean> {
    return this.s.deleteAlias.run(id).changes > 0;
  }

  async listDueForExpiry(now: Date, limit: number): Promise<AliasRecord[]> {
    return this.s.dueForExpiry.all(ms(now), checkLimit(limit)).map(toAlias);
  }

  async expireAlias(id: number): Promise<AliasRecord | null> {
    const row = this.expireTx.immediate(id);
    return row ? toAlias(row) : null;
  }

  async nextExpiry(): Promise<Date | null> {
    const t = this.s.nextExpiry.get()!.t;
    return t === null ? null : new Date(t);
  }

  saveMessages(messages: NewMessage[]): Promise<number[]> {
    if (this.closed) return Promise.reject(new Error('The store is closed.'));
    if (messages.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ messages, resolve, reject });
      this.queuedMessages += messages.length;
      for (const m of messages) this.queuedBytes += m.raw.length;
      if (this.queuedMessages >= FLUSH_MESSAGES || this.queuedBytes >= FLUSH_BYTES) this.flush();
      // Everyone who calls before the next turn of the event loop shares one commit (one fsync).
      else this.flushTimer ??= setImmediate(() => this.flush());
    });
  }

  /** Commits everything queued in one transaction and settles each caller. */
  private flush(): void {
    if (this.flushTimer) clearImmediate(this.flushTimer);
    this.flushTimer = null;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    this.queuedMessages = 0;
    this.queuedBytes = 0;
    let outcomes: Outcome[];
    try {
      outcomes = this.flushBatch.immediate(batch);
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing of this group is stored.
      for (const p of batch) p.reject(error);
      return;
    }
    this.stats.flushes++;
    batch.forEach((p, i) => {
      const outcome = outcomes[i]!;
      if ('ids' in outcome) {
        this.stats.messages += outcome.ids.length;
        p.resolve(outcome.ids);
      } else {
        p.reject(outcome.error);
      }
    });
  }

  async getMessage(userId: number, id: number): Promise<MessageRecord | null> {
    const row = this.s.message.get(id, userId);
    return row ? toMessage(row) : null;
  }

  async getRaw(userId: number, id: number): Promise<Buffer | null> {
    return this.s.raw.get(id, userId)?.raw ?? null;
  }

  async listMessages(userId: number, query: MessageQuery): Promise<Page<MessageRecord>> {
    const limit = checkLimit(query.limit);
    const params = {
      userId,
      before: decodeCursor(query.cursor),
      since: query.since ? ms(query.since) : Number.MIN_SAFE_INTEGER,
      limit: limit + 1,
    };
    let rows: MessageRow[];
    if (query.aliasId !== undefined) {
      rows = this.s.listAliasMessages.all({ ...params, aliasId: query.aliasId });
    } else if (query.since && this.s.countSince.get(userId, params.since, SPARSE_SINCE)!.n < SPARSE_SINCE) {
      rows = this.s.listRecentMessages.all(params);
    } else {
      // Walking ids from the newest meets a page of matches soon when many messages match.
      rows = this.s.listMessages.all(params);
    }
    return toPage(rows.map(toMessage), limit);
  }

  async listMessagesAfter(userId: number, afterId: number, limit: number): Promise<MessageRecord[]> {
    return this.s.listAfter.all(userId, afterId, checkLimit(limit)).map(toMessage);
  }

  async setSeen(userId: number, id: number, seen: boolean): Promise<MessageRecord | null> {
    if (this.s.setSeen.run(seen ? 1 : 0, id, userId).changes === 0) return null;
    return this.getMessage(userId, id);
  }

  async deleteMessage(userId: number, id: number): Promise<boolean> {
    return this.deleteMessageTx.immediate(userId, id);
  }

  async listMailbox(scope: MailboxScope, afterId = 0): Promise<MailboxEntry[]> {
    const rows =
      scope.aliasId === undefined
        ? this.s.mailboxUser.all({ userId: scope.userId, after: afterId })
        : this.s.mailboxAlias.all({ userId: scope.userId, aliasId: scope.aliasId, after: afterId });
    return rows.map(toEntry);
  }

  async getMailboxEntries(scope: MailboxScope, ids: number[]): Promise<MailboxEntry[]> {
    const aliasId = scope.aliasId ?? null;
    const out: MailboxEntry[] = [];
    for (const id of cleanIds(ids)) {
      const row = this.s.entry.get({ id, userId: scope.userId, aliasId });
      if (row) out.push(toEntry(row));
    }
    return out;
  }

  async getRaws(scope: MailboxScope, ids: number[]): Promise<Map<number, Buffer>> {
    const list = cleanIds(ids);
    const out = new Map<number, Buffer>();
    if (list.length === 0) return out;
    for (const [id, raw] of this.s.scopedRaws.all({ ids: JSON.stringify(list), userId: scope.userId, aliasId: scope.aliasId ?? null })) out.set(id, raw);
    return out;
  }

  async getHeaders(scope: MailboxScope, ids: number[]): Promise<Map<number, Buffer>> {
    const list = cleanIds(ids);
    const out = new Map<number, Buffer>();
    if (list.length === 0) return out;
    const aliasId = scope.aliasId ?? null;
    const rows = this.s.scopedHeaders.all({ ids: JSON.stringify(list), userId: scope.userId, aliasId });
    // In the order of the ids: json_each drives the join.
    for (const [id, header] of rows) {
      if (header !== null) {
        out.set(id, header);
        continue;
      }
      const raw = this.s.scopedRaw.get({ id, userId: scope.userId, aliasId })?.raw;
      if (raw) out.set(id, headerBlock(raw));
    }
    return out;
  }

  async updateFlags(scope: MailboxScope, ids: number[], mode: FlagMode, flags: string[]): Promise<FlagUpdate[]> {
    const list = cleanIds(ids);
    if (list.length === 0) return [];
    return this.updateFlagsTx.immediate(scope, list, mode, flags);
  }

  async expungeMessages(scope: MailboxScope, ids: number[]): Promise<number[]> {
    const list = cleanIds(ids);
    if (list.length === 0) return [];
    return this.expungeTx.immediate(scope, list);
  }

  async mailboxStatus(scope: MailboxScope): Promise<MailboxStatus> {
    if (scope.aliasId === undefined) {
      const counts = this.s.countUser.get(scope.userId)!;
      return { ...counts, uidNext: this.s.userUidNext.get(scope.userId)?.uid_next ?? 1 };
    }
    const counts = this.s.countAlias.get(scope.aliasId, scope.userId)!;
    return { ...counts, uidNext: this.s.aliasUidNext.get(scope.aliasId, scope.userId)?.uid_next ?? 1 };
  }

  async enqueueOutbound(message: NewOutbound): Promise<number> {
    if (this.closed) throw new Error('The store is closed.');
    // synchronous = FULL: the commit is on disk when this returns.
    return this.enqueueTx.immediate(message);
  }

  async claimOutbound(now: Date, leaseMs: number, limit: number): Promise<OutboundJob[]> {
    return this.claimTx.immediate(ms(now), ms(now) + leaseMs, checkLimit(limit)).map(toJob);
  }

  async completeOutbound(jobId: number): Promise<void> {
    this.completeTx.immediate(jobId);
  }

  async rescheduleOutbound(jobId: number, update: { recipients: string[]; nextAttemptAt: Date; lastError: string }): Promise<void> {
    this.s.rescheduleJob.run({ id: jobId, recipients: JSON.stringify(update.recipients), at: ms(update.nextAttemptAt), error: update.lastError.slice(0, 1000) });
  }

  async nextOutboundAttempt(): Promise<Date | null> {
    const t = this.s.nextJob.get()!.t;
    return t === null ? null : new Date(t);
  }

  async getUpstreamState(key: string): Promise<UpstreamState | null> {
    const row = this.s.upstreamState.get(key);
    if (!row) return null;
    const pending = row.pending_uid !== null && row.pending_at !== null ? { uid: row.pending_uid, at: new Date(row.pending_at) } : null;
    return { uidValidity: row.uid_validity, lastUid: row.last_uid, pending };
  }

  async setUpstreamState(key: string, state: UpstreamState): Promise<void> {
    if (this.closed) throw new Error('The store is closed.');
    // synchronous = FULL: on disk when this returns, so a restart never goes back on it.
    this.s.saveUpstreamState.run({
      key,
      uidValidity: state.uidValidity,
      lastUid: state.lastUid,
      pendingUid: state.pending?.uid ?? null,
      pendingAt: state.pending ? ms(state.pending.at) : null,
      now: Date.now(),
    });
  }
}

function isUniqueViolation(error: unknown, column: string): boolean {
  return (
    error instanceof Database.SqliteError &&
    error.code === 'SQLITE_CONSTRAINT_UNIQUE' &&
    error.message.includes(column)
  );
}
