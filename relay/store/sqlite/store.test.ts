import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { headerBlock } from '../../core/header.ts';
import type { NewMessage, Store } from '../../core/ports.ts';
import { storeSuite } from '../conformance.ts';
import { currentVersion, migrate, migrations } from './migrations.ts';
import { openSqliteStore, SPARSE_SINCE, type SqliteStore } from './store.ts';

const dir = mkdtempSync(join(tmpdir(), 'wisp-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const tempFile = () => join(dir, `store-${process.pid}-${++n}.db`);

const files = new WeakMap<Store, string>();
async function openAt(file: string): Promise<SqliteStore> {
  const store = await openSqliteStore(file);
  files.set(store, file);
  return store;
}

storeSuite('sqlite', () => openAt(tempFile()), { reopen: (closed) => openAt(files.get(closed)!) });

describe('SqliteStore specifics', () => {
  const open: SqliteStore[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  async function track(file: string): Promise<SqliteStore> {
    const store = await openSqliteStore(file);
    open.push(store);
    return store;
  }

  async function aliceWithAlias(store: Store) {
    const user = await store.createUser('alice', new Date(0));
    const alias = await store.createAlias({
      userId: user.id,
      address: 'x7y8z9@wisp.test',
      site: null,
      label: null,
      createdAt: new Date(0),
      expiresAt: null,
    });
    return { user, alias };
  }

  function msg(userId: number, aliasId: number, i: number): NewMessage {
    return {
      userId,
      aliasId,
      receivedAt: new Date(1_000 + i),
      raw: Buffer.from(`Subject: ${i}\r\n\r\nhi\r\n`),
      mailFrom: '',
      from: 'x@y.test',
      subject: String(i),
      preview: 'hi',
      code: null,
      link: null,
    };
  }

  it('runs in WAL mode with full sync and foreign keys on', async () => {
    const store = await track(tempFile());
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2);
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.db.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
  });

  it('creates missing parent directories', async () => {
    const file = join(dir, 'deep', 'er', 'wisp.db');
    const store = await track(file);
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('records migrations once and applies nothing to an up-to-date database', async () => {
    const file = tempFile();
    const store = await track(file);
    const rows = store.db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    expect(rows).toEqual(migrations.map((m) => ({ version: m.version, name: m.name })));
    expect(migrate(store.db)).toEqual([]);
    await store.close();

    const again = await track(file);
    expect(currentVersion(again.db)).toBe(migrations.at(-1)!.version);
    expect(again.db.prepare('SELECT count(*) AS n FROM schema_migrations').get()).toEqual({ n: migrations.length });
  });

  it('applies only the migrations that are new, each in its own transaction', () => {
    const db = new Database(':memory:');
    try {
      expect(migrate(db, migrations)).toEqual(migrations.map((m) => m.version));
      const next = { version: 1000, name: 'test column', sql: 'ALTER TABLE users ADD COLUMN note TEXT' };
      const broken = { version: 1001, name: 'broken', sql: 'CREATE TABLE t1001 (x); SELECT nonsense FROM nowhere' };
      expect(() => migrate(db, [...migrations, next, broken])).toThrow();
      // 1000 stayed; 1001 left nothing behind, not even the table its first statement made.
      expect(currentVersion(db)).toBe(1000);
      expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 't1001'").get()).toEqual({ n: 0 });
      expect(migrate(db, [...migrations, next])).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('upgrades a version-1 database: UIDNEXT from the mail it holds, no flags yet', async () => {
    const file = tempFile();
    const db = new Database(file);
    migrate(db, migrations.filter((m) => m.version === 1));
    db.exec(`INSERT INTO users (id, name, created_at) VALUES (1, 'old', 0);
      INSERT INTO aliases (id, user_id, address, created_at) VALUES (5, 1, 'a@x.test', 0), (6, 1, 'b@x.test', 0);
      INSERT INTO messages (id, user_id, alias_id, received_at, size, mail_from, from_addr, subject, preview, seen, raw)
        VALUES (10, 1, 5, 0, 1, '', '', '', '', 1, x'41'), (12, 1, 6, 0, 1, '', '', '', '', 0, x'42');`);
    db.close();
    const store = await track(file);
    expect(await store.mailboxStatus({ userId: 1 })).toEqual({ messages: 2, unseen: 1, uidNext: 13 });
    expect(await store.mailboxStatus({ userId: 1, aliasId: 5 })).toEqual({ messages: 1, unseen: 0, uidNext: 11 });
    expect((await store.listMailbox({ userId: 1 })).map((e) => e.flags)).toEqual([['\\Seen'], []]);
  });

  it('upgrades a version-4 database: every message gets its header block, cut where headerBlockEnd cuts', async () => {
    const file = tempFile();
    const db = new Database(file);
    migrate(db, migrations.filter((m) => m.version <= 4));
    db.exec(`INSERT INTO users (id, name, created_at) VALUES (1, 'old', 0);
      INSERT INTO aliases (id, user_id, address, created_at) VALUES (5, 1, 'a@x.test', 0);`);
    // Short messages of line-ending bytes and text, so that every way a header can end turns up.
    const alphabet = ['\r', '\n', '\r\n', 'a', ': ', '\n\n', '\n\r\n'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const raws: Buffer[] = [Buffer.alloc(0), Buffer.from('\n'), Buffer.from('\r'), Buffer.from('\r\n'), Buffer.from('a: b\r\n\r\nc')];
    for (let i = 0; i < 400; i++) {
      raws.push(Buffer.from(Array.from({ length: Math.floor(next() * 12) }, () => alphabet[Math.floor(next() * alphabet.length)]).join(''), 'latin1'));
    }
    const insert = db.prepare(
      `INSERT INTO messages (id, user_id, alias_id, received_at, size, mail_from, from_addr, subject, preview, raw)
       VALUES (?, 1, 5, 0, ?, '', '', '', '', ?)`,
    );
    raws.forEach((raw, i) => insert.run(i + 1, raw.length, raw));
    db.close();
    const store = await track(file);
    const ids = raws.map((_, i) => i + 1);
    const got = await store.getHeaders({ userId: 1 }, ids);
    expect(ids.filter((id) => !got.get(id)?.equals(headerBlock(raws[id - 1]!)))).toEqual([]);
    // New mail gets its header on the way in; a message that lacks one (none should) is cut from raw.
    store.db.prepare('DELETE FROM message_headers WHERE message_id = 5').run();
    expect((await store.getHeaders({ userId: 1, aliasId: 5 }, [5])).get(5)?.toString()).toBe('a: b\r\n\r\n');
    expect((await store.getHeaders({ userId: 2 }, [5])).size).toBe(0);
  });

  it('refuses versions out of order and a database newer than the build', async () => {
    const db = new Database(':memory:');
    try {
      const [first] = migrations;
      expect(() => migrate(db, [first!, first!])).toThrow(/increase/);
      migrate(db, [...migrations, { version: 999, name: 'future', sql: 'SELECT 1' }]);
      expect(() => migrate(db, migrations)).toThrow(/newer than this build/);
    } finally {
      db.close();
    }
    const file = tempFile();
    const store = await openSqliteStore(file);
    store.db.prepare("INSERT INTO schema_migrations VALUES (999, 'future', 0)").run();
    await store.close();
    await expect(openSqliteStore(file)).rejects.toThrow(/newer than this build/);
  });

  it('uses its indexes for every listing and never reads raw to list', async () => {
    const store = await track(tempFile());
    const plan = (sql: string) => {
      // Any values will do: the plan depends on the shape of the query, not on them.
      const named = Object.fromEntries([...sql.matchAll(/@(\w+)/g)].map((m) => [m[1], 1]));
      const positional = [...sql.matchAll(/\?/g)].map(() => 1);
      const params = Object.keys(named).length > 0 ? [named] : positional;
      return store.db
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...params)
        .map((r) => (r as { detail: string }).detail)
        .join(' | ');
    };
    // The statements as the store prepared them.
    const statements = (store as unknown as { s: Record<string, Database.Statement> }).s;
    const explain = (name: string) => plan(statements[name]!.source);
    expect(explain('listMessages')).toMatch(/SEARCH m USING COVERING INDEX messages_user|SEARCH m USING INDEX messages_user/);
    expect(explain('listMessages')).not.toMatch(/TEMP B-TREE/);
    expect(explain('listAliasMessages')).toMatch(/INDEX messages_alias/);
    expect(explain('listAliasMessages')).not.toMatch(/TEMP B-TREE/);
    expect(explain('listAfter')).toMatch(/INDEX messages_user/);
    expect(explain('countSince')).toMatch(/COVERING INDEX messages_user_time/);
    expect(explain('listRecentMessages')).toMatch(/COVERING INDEX messages_user_time/);
    expect(explain('listAliases')).toMatch(/INDEX aliases_user/);
    expect(explain('listAliases')).not.toMatch(/TEMP B-TREE/);
    expect(explain('dueForExpiry')).toMatch(/INDEX aliases_expiry/);
    expect(explain('nextExpiry')).toMatch(/INDEX aliases_expiry/);
    expect(explain('userByToken')).toMatch(/INDEX sqlite_autoindex_tokens/);
    expect(explain('mailboxUser')).toMatch(/INDEX messages_user/);
    expect(explain('mailboxUser')).not.toMatch(/TEMP B-TREE/);
    expect(explain('mailboxAlias')).toMatch(/INDEX messages_alias/);
    expect(explain('mailboxAlias')).not.toMatch(/TEMP B-TREE/);
    expect(explain('countUser')).toMatch(/INDEX messages_user/);
    expect(explain('countAlias')).toMatch(/INDEX messages_alias/);
    expect(explain('scopedHeaders')).toMatch(/SEARCH m USING INTEGER PRIMARY KEY/);
    expect(explain('scopedHeaders')).toMatch(/SEARCH h USING INTEGER PRIMARY KEY/);
    for (const name of ['listMessages', 'listRecentMessages', 'listAliasMessages', 'listAfter', 'message', 'mailboxUser', 'mailboxAlias', 'entry', 'scopedHeaders']) {
      expect(statements[name]!.source).not.toMatch(/\braw\b/);
    }
  });

  it('lists by arrival time the same way whether few or many messages match', async () => {
    const store = await track(tempFile());
    const { user, alias } = await aliceWithAlias(store);
    const total = SPARSE_SINCE + 500;
    // Arrival times out of id order, as clock skew and retries make them.
    const times = Array.from({ length: total }, (_, i) => (i * 7919) % total);
    const ids = await store.saveMessages(times.map((t, i) => ({ ...msg(user.id, alias.id, i), receivedAt: new Date(t) })));
    for (const since of [-1, 100, total - SPARSE_SINCE - 1, total - SPARSE_SINCE, total - 300, total - 2, total]) {
      const expected = ids.filter((_, i) => times[i]! > since).reverse();
      const got: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listMessages(user.id, { since: new Date(since), limit: 97, ...(cursor ? { cursor } : {}) });
        got.push(...page.items.map((m) => m.id));
        cursor = page.next ?? undefined;
      } while (cursor);
      expect(got).toEqual(expected);
    }
  });

  it('commits concurrent callers together', async () => {
    const store = await track(tempFile());
    const { user, alias } = await aliceWithAlias(store);
    const before = store.stats.flushes;
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => store.saveMessages([msg(user.id, alias.id, i)])));
    expect(store.stats.flushes - before).toBe(1);
    expect(new Set(ids.flat()).size).toBe(50);
  });

  it('rejects only the caller whose batch failed when a group commits', async () => {
    const store = await track(tempFile());
    const { user, alias } = await aliceWithAlias(store);
    const good1 = store.saveMessages([msg(user.id, alias.id, 1)]);
    const bad = store.saveMessages([msg(user.id, alias.id, 2), msg(user.id, alias.id + 99, 3)]);
    const good2 = store.saveMessages([msg(user.id, alias.id, 4)]);
    await expect(bad).rejects.toThrow(/FOREIGN KEY/);
    const [[id1], [id2]] = await Promise.all([good1, good2]);
    expect(store.stats.flushes).toBe(1);
    expect((await store.listMessages(user.id, { limit: 10 })).items.map((m) => m.id)).toEqual([id2, id1]);
    expect((await store.getAliasById(alias.id))?.messageCount).toBe(2);
  });

  it('writes a large queue at once instead of waiting', async () => {
    const store = await track(tempFile());
    const { user, alias } = await aliceWithAlias(store);
    const batch = Array.from({ length: 1000 }, (_, i) => msg(user.id, alias.id, i));
    const pending = store.saveMessages(batch);
    // Flushed synchronously: written before the event loop turns.
    expect(store.stats.messages).toBe(1000);
    expect(await pending).toHaveLength(1000);
  });

  it('refuses saves after close and closes twice without error', async () => {
    const store = await openSqliteStore(tempFile());
    const { user, alias } = await aliceWithAlias(store);
    const pending = store.saveMessages([msg(user.id, alias.id, 1)]);
    await store.close();
    await expect(pending).resolves.toHaveLength(1);
    await expect(store.close()).resolves.toBeUndefined();
    await expect(store.saveMessages([msg(user.id, alias.id, 2)])).rejects.toThrow(/closed/);
  });

  it('opens an in-memory database', async () => {
    const store = await track(':memory:');
    const { user } = await aliceWithAlias(store);
    expect((await store.getUserById(user.id))?.name).toBe('alice');
  });
});
