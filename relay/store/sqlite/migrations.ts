// Versioned schema for the SQLite store. Append new migrations at the end; never edit one that has
// shipped. Each runs in its own transaction and is recorded in schema_migrations, which is the one
// source of truth for the schema version (user_version is not used).
import type Database from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    // Times are integer ms since the epoch. STRICT tables reject values of the wrong type.
    // AUTOINCREMENT on users, aliases and messages: an id is never handed out twice, so a session
    // still holding a deleted user's id can never see a newcomer's mail, and message ids can serve
    // as IMAP UIDs.
    sql: `
      CREATE TABLE users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      ) STRICT;
      -- Without it, deleting a user scans every token.
      CREATE INDEX tokens_user ON tokens(user_id);

      CREATE TABLE aliases (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        address TEXT NOT NULL UNIQUE,
        site TEXT,
        label TEXT,
        active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        expired INTEGER NOT NULL DEFAULT 0 CHECK (expired IN (0, 1)),
        -- Maintained in the same transaction as every message insert and delete.
        message_count INTEGER NOT NULL DEFAULT 0,
        last_message_at INTEGER
      ) STRICT;
      -- Listing a user's addresses; also the parent key of messages(user_id, alias_id).
      CREATE UNIQUE INDEX aliases_user ON aliases(user_id, id);
      -- Only the addresses still waiting to expire.
      CREATE INDEX aliases_expiry ON aliases(expires_at) WHERE expired = 0 AND expires_at IS NOT NULL;

      CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        alias_id INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        size INTEGER NOT NULL,
        mail_from TEXT NOT NULL,
        from_addr TEXT NOT NULL,
        subject TEXT NOT NULL,
        preview TEXT NOT NULL,
        code TEXT,
        link TEXT,
        seen INTEGER NOT NULL DEFAULT 0 CHECK (seen IN (0, 1)),
        -- Last, so that reading the summary columns never touches the blob's overflow pages.
        raw BLOB NOT NULL,
        -- A message always belongs to the user who owns its address.
        FOREIGN KEY (user_id, alias_id) REFERENCES aliases(user_id, id) ON DELETE CASCADE
      ) STRICT;
      -- received_at rides along so that 'since' filters on the index without reading rows.
      CREATE INDEX messages_user ON messages(user_id, id, received_at);
      CREATE INDEX messages_alias ON messages(alias_id, id, received_at);
      -- A reconnecting client asks for the few messages since it last looked: found here without
      -- walking the user's whole mailbox.
      CREATE INDEX messages_user_time ON messages(user_id, received_at);
    `,
  },
  {
    version: 2,
    name: 'imap flags and uid high-water marks',
    // Flags other than \Seen (which stays messages.seen, the API's field) live in their own table,
    // with a row only for messages that have any: a column added to messages would sit after the
    // raw blob, and listing a mailbox would then read every message's overflow pages.
    // uid_next is the IMAP UIDNEXT of INBOX (users) and of Aliases/<address> (aliases): one more
    // than the newest message id the mailbox ever held, so it grows with every arrival and never
    // falls back when the newest message is deleted.
    sql: `
      CREATE TABLE message_flags (
        message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
        flags TEXT NOT NULL
      ) STRICT;
      ALTER TABLE users ADD COLUMN uid_next INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE aliases ADD COLUMN uid_next INTEGER NOT NULL DEFAULT 1;
      UPDATE users SET uid_next = coalesce((SELECT max(id) FROM messages WHERE user_id = users.id), 0) + 1;
      UPDATE aliases SET uid_next = coalesce((SELECT max(id) FROM messages WHERE alias_id = aliases.id), 0) + 1;
    `,
  },
  {
    version: 3,
    name: 'outbound queue',
    // A submitted message is stored once; each of its delivery jobs (all recipients through a
    // smarthost, or one recipient domain's MX) is retried on its own. next_attempt_at doubles as
    // the lease of a claimed job: a worker that dies leaves it due again when the lease ends.
    sql: `
      CREATE TABLE outbound_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        mail_from TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        raw BLOB NOT NULL
      ) STRICT;
      CREATE INDEX outbound_messages_user ON outbound_messages(user_id);
      CREATE TABLE outbound_jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id INTEGER NOT NULL REFERENCES outbound_messages(id) ON DELETE CASCADE,
        -- JSON array of addresses still to reach
        recipients TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT
      ) STRICT;
      CREATE INDEX outbound_jobs_due ON outbound_jobs(next_attempt_at, id);
      CREATE INDEX outbound_jobs_message ON outbound_jobs(message_id);
    `,
  },
  {
    version: 4,
    name: 'upstream pull state',
    // One row per upstream mailbox (keyed by its URL without the password): the UIDVALIDITY the
    // UIDs belong to, the highest UID done, and the UID being ingested when the row was written
    // (with the receivedAt it was given), so a crash mid-ingest can be told apart from a clean stop.
    sql: `
      CREATE TABLE upstream_state (
        key TEXT PRIMARY KEY,
        uid_validity INTEGER NOT NULL,
        last_uid INTEGER NOT NULL,
        pending_uid INTEGER,
        pending_at INTEGER,
        updated_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 5,
    name: 'message headers apart from the body',
    // Each message's header block (core/header.ts: up to and including the blank line that ends
    // it) in a table of its own, a copy of raw's first bytes: an IMAP header scan (ENVELOPE,
    // BODY[HEADER.FIELDS ...]) reads these small rows, packed many to a page, instead of every
    // message's whole blob with its overflow pages (substr() on raw still reads all of it). The
    // back-fill cuts where headerBlockEnd does for a whole message.
    sql: `
      CREATE TABLE message_headers (
        message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
        header BLOB NOT NULL
      ) STRICT;
      -- coalesce: substr() of an empty blob is NULL.
      INSERT INTO message_headers (message_id, header)
        SELECT id, coalesce(substr(raw, 1, CASE
          WHEN substr(raw, 1, 1) = x'0a' THEN 1
          WHEN substr(raw, 1, 2) = x'0d0a' THEN 2
          WHEN instr(raw, x'0a0a') > 0 AND (instr(raw, x'0a0d0a') = 0 OR instr(raw, x'0a0a') <= instr(raw, x'0a0d0a') + 1)
            THEN instr(raw, x'0a0a') + 1
          WHEN instr(raw, x'0a0d0a') > 0 THEN instr(raw, x'0a0d0a') + 2
          ELSE length(raw)
        END), x'') FROM messages;
    `,
  },
];

/**
 * Brings the database up to the newest migration. Returns the versions it applied (none when the
 * database was up to date). Refuses a database written by a newer build.
 */
export function migrate(db: Database.Database, list: readonly Migration[] = migrations): number[] {
  for (let i = 1; i < list.length; i++) {
    if (list[i]!.version <= list[i - 1]!.version) {
      throw new Error(`Migration versions must increase: ${list[i]!.version} follows ${list[i - 1]!.version}`);
    }
  }
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const current = currentVersion(db);
  const newest = list.at(-1)?.version ?? 0;
  if (current > newest) {
    throw new Error(
      `The database schema is at version ${current}, newer than this build knows (${newest}); upgrade Wisp.`,
    );
  }
  const record = db.prepare<[number, string, number]>(
    'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
  );
  const applied: number[] = [];
  for (const migration of list) {
    if (migration.version <= current) continue;
    // IMMEDIATE takes the write lock up front, so two processes opening a fresh file cannot both
    // decide to apply the same migration.
    db.transaction(() => {
      if (currentVersion(db) >= migration.version) return;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
      applied.push(migration.version);
    }).immediate();
  }
  return applied;
}

export function currentVersion(db: Database.Database): number {
  const row = db.prepare<[], { v: number | null }>('SELECT max(version) AS v FROM schema_migrations').get();
  return row?.v ?? 0;
}
