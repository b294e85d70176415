// The conformance suite on PostgreSQL, in a schema of its own that is dropped afterwards, plus what
// only this backend has: concurrent nodes, advisory locks, migrations under a lock.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { headerBlockEnd } from '../../core/header.ts';
import { Exclusive } from '../../core/locks.ts';
import type { NewMessage, Store } from '../../core/ports.ts';
import { storeSuite } from '../conformance.ts';
import { PostgresLocks } from './locks.ts';
import { currentVersion, migrate, migrations } from './migrations.ts';
import { lockKey } from './rows.ts';
import { openPostgresStore, type PostgresStore } from './store.ts';
import { postgresTestUrl } from './test-db.ts';

const schema = `wisp_test_${randomBytes(6).toString('hex')}`;
const url = postgresTestUrl(schema);
const admin = new pg.Pool({ connectionString: postgresTestUrl(), max: 1 });

beforeAll(async () => {
  // The schema and its tables once; each test then starts from empty tables.
  await (await openPostgresStore(url)).close();
});
afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

/** Empties every table but the migrations' record; sequences go on, as they would in production. */
async function emptied(): Promise<Store> {
  const { rows } = await admin.query<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_migrations'",
    [schema],
  );
  if (rows.length > 0) await admin.query(`TRUNCATE ${rows.map((r) => `${schema}.${r.name}`).join(', ')} CASCADE`);
  return openPostgresStore(url);
}

storeSuite('postgres', emptied, { reopen: () => openPostgresStore(url) });

describe('PostgresStore specifics', () => {
  const open: PostgresStore[] = [];
  const schemas: string[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  });

  /** A store on a schema of its own, for tests that need an empty or odd database. */
  function freshSchema(): string {
    const name = `wisp_test_${randomBytes(6).toString('hex')}`;
    schemas.push(name);
    return name;
  }

  async function track(at = url): Promise<PostgresStore> {
    const store = await openPostgresStore(at);
    open.push(store);
    return store;
  }

  async function world(store: Store) {
    const user = await store.createUser(`u${randomBytes(4).toString('hex')}`, new Date(0));
    const alias = await store.createAlias({
      userId: user.id,
      address: `x${randomBytes(5).toString('hex')}@wisp.test`,
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

  it('records each migration once and applies nothing to an up-to-date schema', async () => {
    const store = await track();
    const { rows } = await store.pool.query('SELECT version, name FROM schema_migrations ORDER BY version');
    expect(rows).toEqual(migrations.map((m) => ({ version: m.version, name: m.name })));
    const client = await store.pool.connect();
    try {
      expect(await migrate(client, store.schema)).toEqual([]);
      expect(await currentVersion(client)).toBe(migrations.at(-1)!.version);
    } finally {
      client.release();
    }
  });

  it('lets several nodes start at once on a fresh schema: each migration runs once', async () => {
    const at = postgresTestUrl(freshSchema());
    const stores = await Promise.all(Array.from({ length: 6 }, () => track(at)));
    const { rows } = await stores[0]!.pool.query('SELECT count(*)::int AS n, count(DISTINCT version)::int AS d FROM schema_migrations');
    expect(rows[0]).toEqual({ n: migrations.length, d: migrations.length });
    const { user, alias } = await world(stores[3]!);
    const [id] = await stores[5]!.saveMessages([msg(user.id, alias.id, 1)]);
    expect((await stores[1]!.getMessage(user.id, id!))?.subject).toBe('1');
  });

  it('applies only the migrations that are new, each in its own transaction', async () => {
    const schema = freshSchema();
    const store = await track(postgresTestUrl(schema));
    const client = await store.pool.connect();
    try {
      const next = { version: 1000, name: 'test column', sql: 'ALTER TABLE users ADD COLUMN note text' };
      const broken = { version: 1001, name: 'broken', sql: 'CREATE TABLE t1001 (x int); SELECT nonsense FROM nowhere' };
      await expect(migrate(client, schema, [...migrations, next, broken])).rejects.toThrow();
      expect(await currentVersion(client)).toBe(1000);
      const { rows } = await client.query("SELECT to_regclass('t1001') AS t");
      expect(rows[0].t).toBeNull();
      expect(await migrate(client, schema, [...migrations, next])).toEqual([]);
      const [first] = migrations;
      await expect(migrate(client, schema, [first!, first!])).rejects.toThrow(/increase/);
    } finally {
      client.release();
    }
  });

  it('refuses a schema newer than the build', async () => {
    const at = postgresTestUrl(freshSchema());
    const store = await openPostgresStore(at);
    await store.pool.query("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')");
    await store.close();
    await expect(openPostgresStore(at)).rejects.toThrow(/newer than this build/);
  });

  it('commits concurrent callers together, and rejects only the caller whose batch failed', async () => {
    const store = await track();
    const { user, alias } = await world(store);
    const before = store.stats.flushes;
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => store.saveMessages([msg(user.id, alias.id, i)])));
    expect(store.stats.flushes - before).toBe(1);
    expect(new Set(ids.flat()).size).toBe(50);

    const good1 = store.saveMessages([msg(user.id, alias.id, 100)]);
    const bad = store.saveMessages([msg(user.id, alias.id, 101), msg(user.id, alias.id + 99, 102)]);
    const good2 = store.saveMessages([msg(user.id, alias.id, 103)]);
    await expect(bad).rejects.toThrow(/foreign key/);
    const [[id1], [id2]] = await Promise.all([good1, good2]);
    expect(store.stats.flushes - before).toBe(2);
    expect((await store.listMessages(user.id, { limit: 2 })).items.map((m) => m.id)).toEqual([id2, id1]);
    expect((await store.getAliasById(alias.id))?.messageCount).toBe(52);
  });

  it('commits message ids in order across nodes: a reader never finds a new message below one it has seen', async () => {
    const nodes = await Promise.all([track(), track()]);
    const reader = await track();
    const { user, alias } = await world(nodes[0]!);
    const saved: number[] = [];
    let writing = true;
    const writers = nodes.map(async (store, n) => {
      for (let round = 0; round < 40; round++) {
        const batch = await Promise.all(
          Array.from({ length: 1 + (round % 4) }, (_, i) => store.saveMessages([msg(user.id, alias.id, n * 1000 + round * 10 + i)])),
        );
        saved.push(...batch.flat());
      }
    });
    const seen: number[] = [];
    const reading = (async () => {
      let last = 0;
      while (writing) {
        const page = await reader.listMessagesAfter(user.id, last, 1000);
        for (const m of page) seen.push(m.id);
        last = page.at(-1)?.id ?? last;
      }
      for (const m of await reader.listMessagesAfter(user.id, last, 10_000)) seen.push(m.id);
    })();
    await Promise.all(writers);
    writing = false;
    await reading;
    // Had a higher id committed first, the reader would have moved past the lower one and missed it.
    expect(seen).toEqual([...saved].sort((x, y) => x - y));
  });

  it('hands each outbound job to one node when several claim at once', async () => {
    const nodes = await Promise.all([track(), track(), track()]);
    const { user } = await world(nodes[0]!);
    const at = new Date(5_000);
    for (let i = 0; i < 30; i++) {
      await nodes[0]!.enqueueOutbound({ userId: user.id, mailFrom: 'a@wisp.test', recipientGroups: [[`r${i}@x.test`]], raw: Buffer.from('x'), createdAt: at });
    }
    const claimed: number[] = [];
    await Promise.all(
      nodes.map(async (store) => {
        for (;;) {
          const jobs = await store.claimOutbound(at, 60_000, 3);
          if (jobs.length === 0) return;
          claimed.push(...jobs.map((j) => j.id));
        }
      }),
    );
    expect(claimed).toHaveLength(30);
    expect(new Set(claimed).size).toBe(30);
  });

  it('drops the outbound message when its last two jobs complete on two nodes at once', async () => {
    const [one, two] = await Promise.all([track(), track()]);
    const { user } = await world(one!);
    for (let round = 0; round < 10; round++) {
      await one!.enqueueOutbound({ userId: user.id, mailFrom: 'a@wisp.test', recipientGroups: [['x@a.test'], ['y@b.test']], raw: Buffer.from('x'), createdAt: new Date(0) });
      const [j1, j2] = await one!.claimOutbound(new Date(0), 60_000, 2);
      await Promise.all([one!.completeOutbound(j1!.id), two!.completeOutbound(j2!.id)]);
    }
    const { rows } = await one!.pool.query('SELECT count(*)::int AS n FROM outbound_messages WHERE user_id = $1', [user.id]);
    expect(rows[0].n).toBe(0);
  });

  it('drops NUL characters, which PostgreSQL text cannot hold, instead of refusing the message', async () => {
    const store = await track();
    const { user, alias } = await world(store);
    const [id] = await store.saveMessages([{ ...msg(user.id, alias.id, 1), subject: 'a\u0000b', from: '\u0000x@y.test' }]);
    expect(await store.getMessage(user.id, id!)).toMatchObject({ subject: 'ab', from: 'x@y.test' });
  });
});

describe('PostgresLocks', () => {
  const open: PostgresStore[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  async function locksOfNode() {
    const store = await openPostgresStore(url);
    open.push(store);
    return new PostgresLocks(store);
  }

  it('runs withLock work one node at a time', async () => {
    const [x, y] = await Promise.all([locksOfNode(), locksOfNode()]);
    const events: string[] = [];
    const work = (name: string) => async () => {
      events.push(`${name} in`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      events.push(`${name} out`);
    };
    await Promise.all([x.withLock('sweep', work('x')), y.withLock('sweep', work('y')), x.withLock('sweep', work('x2'))]);
    for (let i = 0; i < events.length; i += 2) expect(events[i + 1]).toBe(events[i]!.replace('in', 'out'));
    expect(events).toHaveLength(6);
  });

  it('holds a lock for one node until it is released or its connection is lost', async () => {
    const [x, y] = await Promise.all([locksOfNode(), locksOfNode()]);
    const held = await x.tryHold('upstream imap://u@h:143/INBOX');
    expect(held).not.toBeNull();
    expect(await y.tryHold('upstream imap://u@h:143/INBOX')).toBeNull();
    expect(await y.tryHold('upstream imap://u@h:143/Other')).not.toBeNull();
    await held!.release();
    await held!.lost;
    const taken = await y.tryHold('upstream imap://u@h:143/INBOX');
    expect(taken).not.toBeNull();
    // The holder's connection dies: the lock is free, and the holder learns it has lost it.
    const [classid, objid] = lockKey(schema, 'upstream imap://u@h:143/INBOX');
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 2",
      [classid >>> 0, objid >>> 0],
    );
    await taken!.lost;
    expect(await x.tryHold('upstream imap://u@h:143/INBOX')).not.toBeNull();
  });

  it('runs an exclusive job on one node; another takes over when that node stops', async () => {
    const [x, y] = await Promise.all([locksOfNode(), locksOfNode()]);
    const running = new Set<string>();
    const job = (name: string) => () => ({
      start: () => void running.add(name),
      stop: async () => void running.delete(name),
    });
    const onX = new Exclusive(x, 'job', job('x'), { retryMs: 50 });
    const onY = new Exclusive(y, 'job', job('y'), { retryMs: 50 });
    onX.start();
    await vi.waitFor(() => expect(running).toEqual(new Set(['x'])));
    onY.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(running).toEqual(new Set(['x']));
    await onX.stop();
    await vi.waitFor(() => expect(running).toEqual(new Set(['y'])));
    await onY.stop();
    expect(running.size).toBe(0);
  });
});

describe('PostgresStore large batches', () => {
  it('stores one call of 6000 messages (more rows than one statement can carry)', async () => {
    const store = await openPostgresStore(url);
    try {
      const user = await store.createUser(`big${randomBytes(3).toString('hex')}`, new Date(0));
      const alias = await store.createAlias({ userId: user.id, address: `big${randomBytes(5).toString('hex')}@wisp.test`, site: null, label: null, createdAt: new Date(0), expiresAt: null });
      const batch = Array.from({ length: 6000 }, (_, i) => ({
        userId: user.id,
        aliasId: alias.id,
        receivedAt: new Date(i),
        raw: Buffer.from(`Subject: ${i}\r\n\r\nx\r\n`),
        mailFrom: '',
        from: 'x@y.test',
        subject: String(i),
        preview: 'x',
        code: null,
        link: null,
      }));
      const ids = await store.saveMessages(batch);
      expect(ids).toHaveLength(6000);
      expect((await store.getAliasById(alias.id))?.messageCount).toBe(6000);
      expect((await store.getHeaders({ userId: user.id }, [ids[5999]!])).get(ids[5999]!)?.toString()).toBe('Subject: 5999\r\n\r\n');
    } finally {
      await store.close();
    }
  });
});

describe('PostgresStore upgrades', () => {
  it('back-fills header sizes of a version-4 schema where headerBlockEnd cuts', async () => {
    const old = `wisp_test_${randomBytes(6).toString('hex')}`;
    const client = new pg.Client({ connectionString: postgresTestUrl(), options: `-c search_path=${old}` });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA ${old}`);
      await migrate(client, old, migrations.filter((m) => m.version <= 4));
      const raws = ['A: b\r\n\r\nbody\r\n\r\n', 'A: b\n\nbody\n', 'A: b\n\r\nx', 'A: b\r\n\nx\r\n\r\n', '\r\nx', '\nx', 'A: b\r\n', 'A: b\n\r\n\n'].map((t) => Buffer.from(t));
      await client.query("INSERT INTO users (name, created_at) VALUES ('old', now())");
      await client.query("INSERT INTO aliases (user_id, address, created_at) SELECT id, 'a@x.test', now() FROM users");
      for (const raw of raws) {
        await client.query(
          `INSERT INTO messages (user_id, alias_id, received_at, size, mail_from, from_addr, subject, preview, raw)
           SELECT user_id, id, now(), $1, '', '', '', '', $2 FROM aliases`,
          [raw.length, raw],
        );
      }
      await migrate(client, old);
      const { rows } = await client.query<{ header_size: number }>('SELECT header_size FROM messages ORDER BY id');
      expect(rows.map((r) => r.header_size)).toEqual(raws.map((raw) => headerBlockEnd(raw)));
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${old} CASCADE`);
      await client.end();
    }
  });
});
