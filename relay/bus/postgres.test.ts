// The LISTEN/NOTIFY bus between two "nodes" (two stores and buses on one schema): each event reaches
// every node's listeners once, records survive the trip, long id lists are split to fit, and a
// killed LISTEN connection comes back with a resync.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AliasRecord, RelayEvent } from '../core/ports.ts';
import { openPostgresStore, type PostgresStore } from '../store/postgres/store.ts';
import { postgresTestUrl } from '../store/postgres/test-db.ts';
import { MAX_PAYLOAD, PostgresBus } from './postgres.ts';

const schema = `wisp_test_${randomBytes(6).toString('hex')}`;
const url = postgresTestUrl(schema);
const admin = new pg.Client({ connectionString: postgresTestUrl() });
const quiet = { info: () => {}, warn: () => {} };

beforeAll(() => admin.connect());
afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

interface Node {
  store: PostgresStore;
  bus: PostgresBus;
  events: RelayEvent[];
}

const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) {
    await n.bus.close();
    await n.store.close();
  }
});

async function node(options: { reconnectBaseMs?: number } = {}): Promise<Node> {
  const store = await openPostgresStore(url);
  const bus = new PostgresBus(store, { log: quiet, ...options });
  await bus.start();
  const events: RelayEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const n = { store, bus, events };
  nodes.push(n);
  return n;
}

const alias: AliasRecord = {
  id: 7,
  userId: 3,
  address: 'github.abcdefghij@wisp.test',
  site: 'github.com',
  label: 'Wörk ✉',
  active: true,
  createdAt: new Date('2030-01-01T00:00:00.123Z'),
  expiresAt: null,
  expired: false,
  messageCount: 2,
  lastMessageAt: new Date('2030-01-02T00:00:00Z'),
};

describe('PostgresBus', () => {
  it('delivers each event once to every node, its own listeners first', async () => {
    const [a, b, c] = await Promise.all([node(), node(), node()]);
    a.bus.publish({ type: 'message', userId: 3, messageId: 41 });
    a.bus.publish({ type: 'alias', userId: 3, event: 'deleted', alias });
    expect(a.events).toHaveLength(2);
    for (const n of [b, c]) await vi.waitFor(() => expect(n.events).toHaveLength(2));
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const n of [a, b, c]) {
      expect(n.events).toEqual([
        { type: 'message', userId: 3, messageId: 41 },
        { type: 'alias', userId: 3, event: 'deleted', alias },
      ]);
    }
    expect(a.bus.isRemote(a.events[0]!)).toBe(false);
    expect(b.bus.isRemote(b.events[0]!)).toBe(true);
  });

  it('keeps the order of one node’s events and splits long id lists to fit a NOTIFY', async () => {
    const [a, b] = await Promise.all([node(), node()]);
    const ids = Array.from({ length: 5000 }, (_, i) => 1_000_000_000 + i);
    expect(a.bus.encode({ type: 'expunge', userId: 1, messageIds: ids }).every((p) => Buffer.byteLength(p) <= MAX_PAYLOAD)).toBe(true);
    for (let i = 0; i < 300; i++) a.bus.publish({ type: 'message', userId: 1, messageId: i });
    a.bus.publish({ type: 'expunge', userId: 1, messageIds: ids });
    await vi.waitFor(() => expect(b.events.filter((e) => e.type === 'expunge').flatMap((e) => (e.type === 'expunge' ? e.messageIds : []))).toHaveLength(5000));
    expect(b.events.filter((e) => e.type === 'message').map((e) => (e.type === 'message' ? e.messageId : -1))).toEqual(
      Array.from({ length: 300 }, (_, i) => i),
    );
  });

  it('ignores payloads it cannot read', async () => {
    const [a] = await Promise.all([node()]);
    await admin.query('SELECT pg_notify($1, $2), pg_notify($1, $3)', [a.bus.channel, 'not json', JSON.stringify({ n: 'x', s: 1, e: { type: 'alias', userId: 1 } })]);
    await admin.query('SELECT pg_notify($1, $2)', [a.bus.channel, JSON.stringify({ n: 'x', s: 2, e: { type: 'message', userId: 1, messageId: 5 } })]);
    await vi.waitFor(() => expect(a.events).toEqual([{ type: 'message', userId: 1, messageId: 5 }]));
  });

  it('reconnects a killed LISTEN connection, then tells its listeners to resync', async () => {
    const [a, b] = await Promise.all([node(), node({ reconnectBaseMs: 200 })]);
    await admin.query('SELECT pg_terminate_backend($1)', [await listenerPid(b)]);
    a.bus.publish({ type: 'message', userId: 9, messageId: 1 }); // likely lost: b is not listening
    await vi.waitFor(() => expect(b.events).toContainEqual({ type: 'resync' }), 5000);
    expect(b.bus.stats.reconnects).toBe(1);
    a.bus.publish({ type: 'message', userId: 9, messageId: 2 });
    await vi.waitFor(() => expect(b.events).toContainEqual({ type: 'message', userId: 9, messageId: 2 }));
    // resync stays on the node that had the gap.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(a.events).not.toContainEqual({ type: 'resync' });
  });
});

/** The backend pid of a bus's LISTEN connection (the one in the channel's listener list). */
async function listenerPid(n: Node): Promise<number> {
  const client = (n.bus as unknown as { listener: pg.Client }).listener;
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return rows[0]!.pid;
}
