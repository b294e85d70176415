// The scale-out Store: a pg connection pool on a PostgreSQL database that any number of relay nodes
// share. Semantics are those of the SQLite store (the conformance suite runs against both); what
// differs is concurrency. Several connections write at once here, so:
//   - message inserts take one advisory lock, making id order the order of commit: a reader that
//     has seen message N can never later find a new message below N (IMAP UIDs, WebSocket `since`);
//   - rows whose counters change are locked in id order, and deadlocks and serialization failures
//     are retried;
//   - saveMessages batches concurrent callers into one transaction (one WAL flush).
import pg from 'pg';
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
  type UpstreamState,
  type User,
  type UserListing,
} from '../../core/ports.ts';
import { headerBlock, headerBlockEnd } from '../../core/header.ts';
import { applyFlags, joinStoredFlags, sameFlags, splitStoredFlags } from '../flags.ts';
import { checkLimit, cleanIds, decodeCursor, toPage } from '../paging.ts';
import { isConnectionError, postgresSettings, resolveSchema, type PostgresSettings } from './connect.ts';
import { migrate } from './migrations.ts';
import {
  ALIAS_COLUMNS,
  ENTRY_COLUMNS,
  MESSAGE_COLUMNS,
  USER_COLUMNS,
  checkDate,
  lockKey,
  toAlias,
  toEntry,
  toJob,
  toMessage,
  toUser,
  toUserListing,
  type AliasRow,
  type EntryRow,
  type JobRow,
  type MessageRow,
  type UserListingRow,
  type UserRow,
} from './rows.ts';

/** A batch this large is written without waiting for more callers. */
const FLUSH_MESSAGES = 1000;
const FLUSH_BYTES = 32 * 1024 * 1024;
/**
 * An address's mailbox is scoped by its owner once (a one-time filter), not row by row: a second
 * condition on messages makes the planner intersect two indexes where one, in id order, does.
 */
const ownsAlias = (user: string, alias: string) => `EXISTS (SELECT 1 FROM aliases o WHERE o.id = ${alias} AND o.user_id = ${user})`;
/** Messages per INSERT statement (13 parameters each). */
const INSERT_ROWS = 1000;
/** Deadlocks and serialization failures are retried this many times in all. */
const ATTEMPTS = 5;

export interface PostgresStoreOptions {
  /** Connections in the pool (default 8). */
  poolSize?: number;
  /** Errors of idle pooled connections (the server restarted, a backend was terminated). */
  onError?: (error: unknown) => void;
}

interface PendingSave {
  messages: NewMessage[];
  bytes: number;
  resolve: (ids: number[]) => void;
  reject: (error: unknown) => void;
}

/** Opens a pool on the database, makes the schema when `?schema=` names a new one, and migrates it. */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const settings = postgresSettings(url);
  const pool = new pg.Pool({ ...settings.config, max: options.poolSize ?? 8, idleTimeoutMillis: 30_000 });
  const onError = options.onError ?? (() => {});
  // Without a listener an idle connection's error would end the process.
  pool.on('error', onError);
  try {
    const client = await pool.connect();
    try {
      const schema = await resolveSchema(client, settings.schema);
      await migrate(client, schema);
      const { rows } = await client.query<{ seq: string }>("SELECT pg_get_serial_sequence('messages', 'id') AS seq");
      return new PostgresStore(pool, settings, schema, rows[0]!.seq);
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
}

const RETRYABLE = new Set(['40001', '40P01']);

function retryable(error: unknown): boolean {
  return RETRYABLE.has((error as { code?: string }).code ?? '');
}

/** PostgreSQL text cannot hold NUL, which a decoded header can; it is the one character dropped. */
function text(value: string): string {
  return value.includes('\u0000') ? value.replaceAll('\u0000', '') : value;
}

function textOrNull(value: string | null): string | null {
  return value === null ? null : text(value);
}

function groupBy<T>(items: T[], key: (item: T) => number): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/** Math.max without spreading: a batch may be longer than the call stack allows arguments. */
function highest(values: number[]): number {
  return values.reduce((a, b) => (b > a ? b : a), -Infinity);
}

/** Per address: how many messages came or went, the latest arrival among them, the highest id. */
function perAlias(rows: { id: number; aliasId: number; at: Date }[]) {
  const groups = [...groupBy(rows, (r) => r.aliasId)].sort(([a], [b]) => a - b);
  return {
    ids: groups.map(([id]) => id),
    counts: groups.map(([, list]) => list.length),
    latest: groups.map(([, list]) => new Date(highest(list.map((r) => r.at.getTime())))),
    maxIds: groups.map(([, list]) => highest(list.map((r) => r.id))),
  };
}

export class PostgresStore implements Store {
  /** Counters for tests and the bench: how many group commits wrote how many messages. */
  readonly stats = { flushes: 0, messages: 0 };

  private closed = false;
  private queue: PendingSave[] = [];
  private flushTimer: NodeJS.Immediate | null = null;
  private flushing: Promise<void> | null = null;
  private readonly insertLock: [number, number];

  constructor(
    readonly pool: pg.Pool,
    readonly settings: PostgresSettings,
    /** The schema the tables are in: advisory lock keys and NOTIFY channels are scoped by it. */
    readonly schema: string,
    private readonly messageIdSequence: string,
  ) {
    this.insertLock = lockKey(schema, 'message-insert');
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.pool.query<R>(sql, params)).rows;
  }

  /** Runs `work` in a transaction, again from the start after a deadlock or serialization failure. */
  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        if (isConnectionError(error)) broken = error as Error;
        else await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        if (attempt < ATTEMPTS && retryable(error)) continue;
        throw error;
      } finally {
        client.release(broken);
      }
    }
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  /** Writes what is still queued, then closes the pool. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushTimer) clearImmediate(this.flushTimer);
    this.flushTimer = null;
    while (this.flushing || this.queue.length > 0) {
      if (this.flushing) await this.flushing;
      else await this.flushOnce();
    }
    await this.pool.end();
  }

  async createUser(name: string, createdAt: Date): Promise<User> {
    const [row] = await this.query<UserRow>(
      `INSERT INTO users (name, created_at) VALUES ($1, $2) RETURNING ${USER_COLUMNS}`,
      [text(name), checkDate(createdAt)],
    );
    return toUser(row!);
  }

  async getUserByName(name: string): Promise<User | null> {
    const [row] = await this.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE name = $1`, [text(name)]);
    return row ? toUser(row) : null;
  }

  async getUserById(id: number): Promise<User | null> {
    const [row] = await this.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
    return row ? toUser(row) : null;
  }

  async listUsers(): Promise<UserListing[]> {
    const rows = await this.query<UserListingRow>(`
      SELECT u.id, u.name, u.created_at,
        (SELECT count(*) FROM aliases a WHERE a.user_id = u.id)::int AS alias_count,
        (SELECT coalesce(sum(a.message_count), 0) FROM aliases a WHERE a.user_id = u.id)::int AS message_count
      FROM users u ORDER BY u.id`);
    return rows.map(toUserListing);
  }

  async countUsers(): Promise<number> {
    const [row] = await this.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    return row!.n;
  }

  async deleteUser(name: string): Promise<boolean> {
    const result = await this.pool.query('DELETE FROM users WHERE name = $1', [text(name)]);
    return (result.rowCount ?? 0) > 0;
  }

  async addToken(userId: number, tokenHash: string, createdAt: Date): Promise<void> {
    await this.query('INSERT INTO tokens (user_id, hash, created_at) VALUES ($1, $2, $3)', [userId, text(tokenHash), checkDate(createdAt)]);
  }

  async findUserByTokenHash(tokenHash: string): Promise<User | null> {
    const [row] = await this.query<UserRow>(
      'SELECT u.id, u.name, u.created_at FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1',
      [text(tokenHash)],
    );
    return row ? toUser(row) : null;
  }

  async createAlias(alias: NewAlias): Promise<AliasRecord> {
    const address = text(alias.address.toLowerCase());
    try {
      const [row] = await this.query<AliasRow>(
        `INSERT INTO aliases (user_id, address, site, label, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${ALIAS_COLUMNS}`,
        [
          alias.userId,
          address,
          textOrNull(alias.site),
          textOrNull(alias.label),
          checkDate(alias.createdAt),
          alias.expiresAt === null ? null : checkDate(alias.expiresAt),
        ],
      );
      return toAlias(row!);
    } catch (error) {
      const e = error as { code?: string; constraint?: string };
      if (e.code === '23505' && e.constraint === 'aliases_address_key') throw new AddressTakenError(address);
      throw error;
    }
  }

  async getAlias(address: string): Promise<AliasRecord | null> {
    const [row] = await this.query<AliasRow>(`SELECT ${ALIAS_COLUMNS} FROM aliases WHERE address = $1`, [text(address.toLowerCase())]);
    return row ? toAlias(row) : null;
  }

  async getAliasById(id: number): Promise<AliasRecord | null> {
    const [row] = await this.query<AliasRow>(`SELECT ${ALIAS_COLUMNS} FROM aliases WHERE id = $1`, [id]);
    return row ? toAlias(row) : null;
  }

  async listAliases(userId: number, page: { cursor?: string; limit: number }): Promise<Page<AliasRecord>> {
    const limit = checkLimit(page.limit);
    // One row more than asked tells whether another page exists, so the last page says next: null.
    const rows = await this.query<AliasRow>(
      `SELECT ${ALIAS_COLUMNS} FROM aliases WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
      [userId, decodeCursor(page.cursor), limit + 1],
    );
    return toPage(rows.map(toAlias), limit);
  }

  async updateAlias(id: number, patch: AliasPatch): Promise<AliasRecord | null> {
    // One statement for every patch shape: a flag per field says whether to touch it.
    const [row] = await this.query<AliasRow>(
      `UPDATE aliases SET
         label = CASE WHEN $2::boolean THEN $3::text ELSE label END,
         active = CASE WHEN $4::boolean THEN $5::boolean ELSE active END,
         expires_at = CASE WHEN $6::boolean THEN $7::timestamptz ELSE expires_at END,
         expired = CASE WHEN $6::boolean THEN false ELSE expired END,
         site = coalesce(site, $8::text)
       WHERE id = $1 RETURNING ${ALIAS_COLUMNS}`,
      [
        id,
        patch.label !== undefined,
        textOrNull(patch.label ?? null),
        patch.active !== undefined,
        patch.active ?? false,
        patch.expiresAt !== undefined,
        patch.expiresAt ? checkDate(patch.expiresAt) : null,
        textOrNull(patch.site ?? null),
      ],
    );
    return row ? toAlias(row) : null;
  }

  async deleteAlias(id: number): Promise<boolean> {
    const result = await this.pool.query('DELETE FROM aliases WHERE id = $1', [id]);
    return (result.rowCount ?? 0) > 0;
  }

  async listDueForExpiry(now: Date, limit: number): Promise<AliasRecord[]> {
    const rows = await this.query<AliasRow>(
      `SELECT ${ALIAS_COLUMNS} FROM aliases
       WHERE NOT expired AND expires_at IS NOT NULL AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2`,
      [checkDate(now), checkLimit(limit)],
    );
    return rows.map(toAlias);
  }

  async expireAlias(id: number): Promise<AliasRecord | null> {
    const row = await this.transaction(async (c) => {
      await c.query('DELETE FROM messages WHERE alias_id = $1', [id]);
      const { rows } = await c.query<AliasRow>(
        `UPDATE aliases SET expired = true, message_count = 0, last_message_at = NULL
         WHERE id = $1 RETURNING ${ALIAS_COLUMNS}`,
        [id],
      );
      return rows[0];
    });
    return row ? toAlias(row) : null;
  }

  async nextExpiry(): Promise<Date | null> {
    const [row] = await this.query<{ t: Date | null }>(
      'SELECT min(expires_at) AS t FROM aliases WHERE NOT expired AND expires_at IS NOT NULL',
    );
    return row?.t ?? null;
  }

  saveMessages(messages: NewMessage[]): Promise<number[]> {
    if (this.closed) return Promise.reject(new Error('The store is closed.'));
    if (messages.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const bytes = messages.reduce((sum, m) => sum + m.raw.length, 0);
      this.queue.push({ messages, bytes, resolve, reject });
      // Everyone who calls before the next turn of the event loop, or while a commit is under
      // way, shares the next commit.
      if (!this.flushing) this.flushTimer ??= setImmediate(() => this.startFlush());
    });
  }

  private startFlush(): void {
    this.flushTimer = null;
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = this.flushOnce().finally(() => {
      this.flushing = null;
      if (this.queue.length > 0) this.startFlush();
    });
  }

  /** Takes a batch off the queue and commits it in one transaction, settling each caller. */
  private async flushOnce(): Promise<void> {
    let count = 0;
    let bytes = 0;
    let take = 0;
    while (take < this.queue.length && (take === 0 || (count < FLUSH_MESSAGES && bytes < FLUSH_BYTES))) {
      count += this.queue[take]!.messages.length;
      bytes += this.queue[take]!.bytes;
      take++;
    }
    const batch = this.queue.splice(0, take);
    if (batch.length === 0) return;
    let outcomes: ({ ids: number[] } | { error: unknown })[];
    try {
      outcomes = await this.transaction((c) => this.insertBatch(c, batch, count));
    } catch (error) {
      // The transaction itself failed: nothing of this group is stored.
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

  private async insertBatch(c: pg.PoolClient, batch: PendingSave[], count: number) {
    // Held to the end of the transaction: ids are drawn and committed in one order on every node.
    await c.query('SELECT pg_advisory_xact_lock($1, $2)', this.insertLock);
    const { rows } = await c.query<{ id: number }>('SELECT nextval($1::regclass)::bigint AS id FROM generate_series(1, $2)', [
      this.messageIdSequence,
      count,
    ]);
    const ids = rows.map((r) => r.id).sort((a, b) => a - b);
    const stored: { id: number; userId: number; aliasId: number; at: Date }[] = [];
    const outcomes: ({ ids: number[] } | { error: unknown })[] = [];
    let offset = 0;
    const shares = batch.map((p) => ids.slice(offset, (offset += p.messages.length)));
    const keep = (p: PendingSave, mine: number[]) => {
      outcomes.push({ ids: mine });
      p.messages.forEach((m, i) => stored.push({ id: mine[i]!, userId: m.userId, aliasId: m.aliasId, at: m.receivedAt }));
    };
    if (batch.length === 1) {
      await this.insertMessages(c, ids, batch[0]!.messages);
      keep(batch[0]!, ids);
    } else {
      // Everyone in one statement; only when that fails, a savepoint per caller, so one caller's
      // bad message (an unknown address) fails that caller alone.
      let together = true;
      await c.query('SAVEPOINT batch');
      try {
        await this.insertMessages(c, ids, batch.flatMap((p) => p.messages));
        await c.query('RELEASE SAVEPOINT batch');
      } catch {
        await c.query('ROLLBACK TO SAVEPOINT batch');
        together = false;
      }
      for (const [i, p] of batch.entries()) {
        const mine = shares[i]!;
        if (together) {
          keep(p, mine);
          continue;
        }
        try {
          await c.query('SAVEPOINT caller');
          await this.insertMessages(c, mine, p.messages);
          await c.query('RELEASE SAVEPOINT caller');
          keep(p, mine);
        } catch (error) {
          await c.query('ROLLBACK TO SAVEPOINT caller');
          outcomes.push({ error });
        }
      }
    }
    if (stored.length > 0) {
      const a = perAlias(stored);
      await c.query('SELECT 1 FROM aliases WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE', [a.ids]);
      await c.query(
        `UPDATE aliases a SET message_count = a.message_count + u.n,
           last_message_at = greatest(a.last_message_at, u.at),
           uid_next = greatest(a.uid_next, u.max_id + 1)
         FROM unnest($1::bigint[], $2::int[], $3::timestamptz[], $4::bigint[]) AS u(id, n, at, max_id)
         WHERE a.id = u.id`,
        [a.ids, a.counts, a.latest, a.maxIds],
      );
      const users = [...groupBy(stored, (s) => s.userId)].sort(([x], [y]) => x - y);
      await c.query(
        `UPDATE users SET uid_next = greatest(users.uid_next, u.max_id + 1)
         FROM unnest($1::bigint[], $2::bigint[]) AS u(id, max_id) WHERE users.id = u.id`,
        [users.map(([id]) => id), users.map(([, list]) => highest(list.map((s) => s.id)))],
      );
    }
    return outcomes;
  }

  /** Multi-row statements; each raw is a parameter of its own, so it travels as binary. */
  private async insertMessages(c: pg.PoolClient, ids: number[], messages: NewMessage[]): Promise<void> {
    // A statement takes at most 65535 parameters.
    for (let at = 0; at < messages.length; at += INSERT_ROWS) {
      await this.insertRows(c, ids.slice(at, at + INSERT_ROWS), messages.slice(at, at + INSERT_ROWS));
    }
  }

  private async insertRows(c: pg.PoolClient, ids: number[], messages: NewMessage[]): Promise<void> {
    const params: unknown[] = [];
    const rows = messages.map((m, i) => {
      const row = [
        ids[i],
        m.userId,
        m.aliasId,
        checkDate(m.receivedAt),
        m.raw.length,
        text(m.mailFrom),
        text(m.from),
        text(m.subject),
        text(m.preview),
        textOrNull(m.code),
        textOrNull(m.link),
        m.raw,
        headerBlockEnd(m.raw),
      ];
      const first = params.length + 1;
      params.push(...row);
      return `(${row.map((_, k) => `$${first + k}`).join(', ')})`;
    });
    await c.query(
      `INSERT INTO messages (id, user_id, alias_id, received_at, size, mail_from, from_addr, subject, preview, code, link, raw, header_size)
       VALUES ${rows.join(', ')}`,
      params,
    );
  }

  async getMessage(userId: number, id: number): Promise<MessageRecord | null> {
    const [row] = await this.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN aliases a ON a.id = m.alias_id WHERE m.id = $1 AND m.user_id = $2`,
      [id, userId],
    );
    return row ? toMessage(row) : null;
  }

  async getRaw(userId: number, id: number): Promise<Buffer | null> {
    const [row] = await this.query<{ raw: Buffer }>('SELECT raw FROM messages WHERE id = $1 AND user_id = $2', [id, userId]);
    return row?.raw ?? null;
  }

  async listMessages(userId: number, query: MessageQuery): Promise<Page<MessageRecord>> {
    const limit = checkLimit(query.limit);
    const params: unknown[] = [userId, decodeCursor(query.cursor), limit + 1];
    let where = 'm.user_id = $1 AND m.id < $2';
    if (query.aliasId !== undefined) {
      // Scoped through the address's owner (the same as messages.user_id, by the foreign key):
      // with no second condition on messages, the planner walks messages_alias in id order.
      params.push(query.aliasId);
      where = `m.alias_id = $${params.length} AND a.user_id = $1 AND m.id < $2`;
    }
    if (query.since !== undefined) {
      params.push(checkDate(query.since));
      where += ` AND m.received_at > $${params.length}`;
    }
    const rows = await this.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN aliases a ON a.id = m.alias_id
       WHERE ${where} ORDER BY m.id DESC LIMIT $3`,
      params,
    );
    return toPage(rows.map(toMessage), limit);
  }

  async listMessagesAfter(userId: number, afterId: number, limit: number): Promise<MessageRecord[]> {
    const rows = await this.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN aliases a ON a.id = m.alias_id
       WHERE m.user_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3`,
      [userId, afterId, checkLimit(limit)],
    );
    return rows.map(toMessage);
  }

  async setSeen(userId: number, id: number, seen: boolean): Promise<MessageRecord | null> {
    const [row] = await this.query<MessageRow>(
      `WITH m AS (UPDATE messages SET seen = $3 WHERE id = $1 AND user_id = $2
         RETURNING id, user_id, alias_id, received_at, size, from_addr, subject, preview, code, link, seen)
       SELECT ${MESSAGE_COLUMNS} FROM m JOIN aliases a ON a.id = m.alias_id`,
      [id, userId, seen],
    );
    return row ? toMessage(row) : null;
  }

  async deleteMessage(userId: number, id: number): Promise<boolean> {
    const gone = await this.removeMessages({ userId }, [id]);
    return gone.length > 0;
  }

  /** Deletes the scope's messages among `ids` and keeps the address counters; ascending ids. */
  private removeMessages(scope: MailboxScope, ids: number[]): Promise<number[]> {
    return this.transaction(async (c) => {
      const { rows } = await c.query<{ id: number; alias_id: number; received_at: Date }>(
        `DELETE FROM messages WHERE id = ANY($1::bigint[]) AND user_id = $2 AND ($3::bigint IS NULL OR alias_id = $3)
         RETURNING id, alias_id, received_at`,
        [ids, scope.userId, scope.aliasId ?? null],
      );
      if (rows.length === 0) return [];
      const a = perAlias(rows.map((r) => ({ id: r.id, aliasId: r.alias_id, at: r.received_at })));
      await c.query('SELECT 1 FROM aliases WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE', [a.ids]);
      // Only rescans an address's mail when its newest message is among those that went.
      await c.query(
        `UPDATE aliases a SET message_count = a.message_count - u.n,
           last_message_at = CASE WHEN a.last_message_at > u.at THEN a.last_message_at
             ELSE (SELECT max(received_at) FROM messages WHERE alias_id = a.id) END
         FROM unnest($1::bigint[], $2::int[], $3::timestamptz[]) AS u(id, n, at)
         WHERE a.id = u.id`,
        [a.ids, a.counts, a.latest],
      );
      return rows.map((r) => r.id).sort((x, y) => x - y);
    });
  }

  async listMailbox(scope: MailboxScope, afterId = 0): Promise<MailboxEntry[]> {
    const rows =
      scope.aliasId === undefined
        ? await this.query<EntryRow>(`SELECT ${ENTRY_COLUMNS} FROM messages m WHERE m.user_id = $1 AND m.id > $2 ORDER BY m.id`, [
            scope.userId,
            afterId,
          ])
        : await this.query<EntryRow>(
            `SELECT ${ENTRY_COLUMNS} FROM messages m
             WHERE m.alias_id = $3 AND m.id > $2 AND ${ownsAlias('$1', '$3')} ORDER BY m.id`,
            [scope.userId, afterId, scope.aliasId],
          );
    return rows.map(toEntry);
  }

  async getMailboxEntries(scope: MailboxScope, ids: number[]): Promise<MailboxEntry[]> {
    const list = cleanIds(ids);
    if (list.length === 0) return [];
    const rows = await this.query<EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM messages m
       WHERE m.id = ANY($1::bigint[]) AND m.user_id = $2 AND ($3::bigint IS NULL OR m.alias_id = $3) ORDER BY m.id`,
      [list, scope.userId, scope.aliasId ?? null],
    );
    return rows.map(toEntry);
  }

  async getRaws(scope: MailboxScope, ids: number[]): Promise<Map<number, Buffer>> {
    const list = cleanIds(ids);
    const out = new Map<number, Buffer>();
    if (list.length === 0) return out;
    const rows = await this.query<{ id: number; raw: Buffer }>(
      `SELECT id, raw FROM messages
       WHERE id = ANY($1::bigint[]) AND user_id = $2 AND ($3::bigint IS NULL OR alias_id = $3) ORDER BY id`,
      [list, scope.userId, scope.aliasId ?? null],
    );
    for (const row of rows) out.set(row.id, row.raw);
    return out;
  }

  async getHeaders(scope: MailboxScope, ids: number[]): Promise<Map<number, Buffer>> {
    const list = cleanIds(ids);
    const out = new Map<number, Buffer>();
    if (list.length === 0) return out;
    // substring() of a TOASTed raw fetches only the slices that hold the header's bytes.
    const rows = await this.query<{ id: number; head: Buffer; whole: boolean }>(
      `SELECT id, CASE WHEN header_size IS NULL THEN raw ELSE substring(raw FROM 1 FOR header_size) END AS head,
         header_size IS NULL AS whole
       FROM messages WHERE id = ANY($1::bigint[]) AND user_id = $2 AND ($3::bigint IS NULL OR alias_id = $3) ORDER BY id`,
      [list, scope.userId, scope.aliasId ?? null],
    );
    for (const row of rows) out.set(row.id, row.whole ? headerBlock(row.head) : row.head);
    return out;
  }

  async updateFlags(scope: MailboxScope, ids: number[], mode: FlagMode, flags: string[]): Promise<FlagUpdate[]> {
    const list = cleanIds(ids);
    if (list.length === 0) return [];
    return this.transaction(async (c) => {
      const { rows } = await c.query<{ id: number; seen: boolean; flags: string | null }>(
        `SELECT id, seen, flags FROM messages
         WHERE id = ANY($1::bigint[]) AND user_id = $2 AND ($3::bigint IS NULL OR alias_id = $3)
         ORDER BY id FOR UPDATE`,
        [list, scope.userId, scope.aliasId ?? null],
      );
      const out: FlagUpdate[] = [];
      const writes: { id: number; seen: boolean; rest: string | null }[] = [];
      for (const row of rows) {
        const before = joinStoredFlags(row.seen, row.flags);
        const after = applyFlags(before, mode, flags);
        const changed = !sameFlags(before, after);
        if (changed) {
          const stored = splitStoredFlags(after);
          writes.push({ id: row.id, seen: stored.seen, rest: stored.rest ? text(stored.rest) : null });
        }
        out.push({ id: row.id, flags: after, changed });
      }
      if (writes.length > 0) {
        await c.query(
          `UPDATE messages m SET seen = u.seen, flags = u.flags
           FROM unnest($1::bigint[], $2::boolean[], $3::text[]) AS u(id, seen, flags) WHERE m.id = u.id`,
          [writes.map((w) => w.id), writes.map((w) => w.seen), writes.map((w) => w.rest)],
        );
      }
      return out;
    });
  }

  async expungeMessages(scope: MailboxScope, ids: number[]): Promise<number[]> {
    const list = cleanIds(ids);
    if (list.length === 0) return [];
    return this.removeMessages(scope, list);
  }

  async mailboxStatus(scope: MailboxScope): Promise<MailboxStatus> {
    const [row] =
      scope.aliasId === undefined
        ? await this.query<MailboxStatus>(
            `SELECT count(*)::int AS messages, (count(*) FILTER (WHERE NOT seen))::int AS unseen,
               coalesce((SELECT uid_next FROM users WHERE id = $1), 1) AS "uidNext"
             FROM messages WHERE user_id = $1`,
            [scope.userId],
          )
        : await this.query<MailboxStatus>(
            `SELECT count(*)::int AS messages, (count(*) FILTER (WHERE NOT seen))::int AS unseen,
               coalesce((SELECT uid_next FROM aliases WHERE id = $2 AND user_id = $1), 1) AS "uidNext"
             FROM messages m WHERE m.alias_id = $2 AND ${ownsAlias('$1', '$2')}`,
            [scope.userId, scope.aliasId],
          );
    return row!;
  }

  async enqueueOutbound(message: NewOutbound): Promise<number> {
    if (this.closed) throw new Error('The store is closed.');
    const createdAt = checkDate(message.createdAt);
    // Committed (synchronous_commit) when this resolves, so submission may answer 250.
    return this.transaction(async (c) => {
      const { rows } = await c.query<{ id: number }>(
        'INSERT INTO outbound_messages (user_id, mail_from, created_at, raw) VALUES ($1, $2, $3, $4) RETURNING id',
        [message.userId, text(message.mailFrom), createdAt, message.raw],
      );
      const id = rows[0]!.id;
      for (const group of message.recipientGroups) {
        if (group.length === 0) continue;
        await c.query('INSERT INTO outbound_jobs (message_id, recipients, next_attempt_at) VALUES ($1, $2::text[], $3)', [
          id,
          group.map(text),
          createdAt,
        ]);
      }
      return id;
    });
  }

  async claimOutbound(now: Date, leaseMs: number, limit: number): Promise<OutboundJob[]> {
    // SKIP LOCKED: nodes claiming at the same moment take different jobs instead of waiting; the
    // lease written in the same statement keeps a job from everyone until it ends.
    const rows = await this.query<JobRow>(
      `WITH due AS (
         SELECT id, next_attempt_at AS due_at FROM outbound_jobs
         WHERE next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3
         FOR UPDATE SKIP LOCKED
       ), leased AS (
         UPDATE outbound_jobs j SET next_attempt_at = $2, attempts = j.attempts + 1
         FROM due WHERE j.id = due.id
         RETURNING j.id, j.message_id, j.recipients, j.attempts, j.last_error, due.due_at
       )
       SELECT l.id, l.message_id, m.user_id, m.mail_from, l.recipients, m.raw, m.created_at, l.attempts, l.last_error
       FROM leased l JOIN outbound_messages m ON m.id = l.message_id
       ORDER BY l.due_at, l.id`,
      [checkDate(now), new Date(now.getTime() + leaseMs), checkLimit(limit)],
    );
    return rows.map(toJob);
  }

  async completeOutbound(jobId: number): Promise<void> {
    await this.transaction(async (c) => {
      const { rows } = await c.query<{ message_id: number }>('SELECT message_id FROM outbound_jobs WHERE id = $1', [jobId]);
      const messageId = rows[0]?.message_id;
      if (messageId === undefined) return;
      // The message row's lock orders the last jobs of one message completing on two nodes, so
      // the second sees the first's delete and the message goes with whichever is last.
      await c.query('SELECT 1 FROM outbound_messages WHERE id = $1 FOR UPDATE', [messageId]);
      await c.query('DELETE FROM outbound_jobs WHERE id = $1', [jobId]);
      await c.query('DELETE FROM outbound_messages WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM outbound_jobs WHERE message_id = $1)', [
        messageId,
      ]);
    });
  }

  async rescheduleOutbound(jobId: number, update: { recipients: string[]; nextAttemptAt: Date; lastError: string }): Promise<void> {
    await this.query('UPDATE outbound_jobs SET recipients = $2::text[], next_attempt_at = $3, last_error = $4 WHERE id = $1', [
      jobId,
      update.recipients.map(text),
      checkDate(update.nextAttemptAt),
      text(update.lastError.slice(0, 1000)),
    ]);
  }

  async nextOutboundAttempt(): Promise<Date | null> {
    const [row] = await this.query<{ t: Date | null }>('SELECT min(next_attempt_at) AS t FROM outbound_jobs');
    return row?.t ?? null;
  }

  async getUpstreamState(key: string): Promise<UpstreamState | null> {
    const [row] = await this.query<{ uid_validity: number; last_uid: number; pending_uid: number | null; pending_at: Date | null }>(
      'SELECT uid_validity, last_uid, pending_uid, pending_at FROM upstream_state WHERE key = $1',
      [text(key)],
    );
    if (!row) return null;
    return {
      uidValidity: row.uid_validity,
      lastUid: row.last_uid,
      pending: row.pending_uid !== null && row.pending_at !== null ? { uid: row.pending_uid, at: row.pending_at } : null,
    };
  }

  async setUpstreamState(key: string, state: UpstreamState): Promise<void> {
    await this.query(
      `INSERT INTO upstream_state (key, uid_validity, last_uid, pending_uid, pending_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (key) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid,
         pending_uid = excluded.pending_uid, pending_at = excluded.pending_at, updated_at = excluded.updated_at`,
      [text(key), state.uidValidity, state.lastUid, state.pending?.uid ?? null, state.pending ? checkDate(state.pending.at) : null],
    );
  }
}
