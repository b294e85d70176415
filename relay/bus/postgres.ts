// The event bus of relay nodes that share one PostgreSQL database. publish() delivers to this
// node's listeners at once and sends the event to the other nodes with NOTIFY; one LISTEN
// connection per node receives theirs. Payloads are ids (and an address's record, which is small
// and must survive its deletion); consumers read everything else from the Store.
//
// NOTIFY is delivered only to sessions listening at the time, so a LISTEN connection that drops
// loses what was sent meanwhile. It reconnects with backoff and then publishes `resync` locally:
// consumers read the Store again from where they were (core/ports.ts RelayEvent).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { InProcessBus } from '../core/events.ts';
import type { AliasRecord, Bus, RelayEvent } from '../core/ports.ts';
import { fnv1a } from '../store/postgres/rows.ts';
import type { PostgresStore } from '../store/postgres/store.ts';

/** PostgreSQL refuses payloads of 8000 bytes and more; keep clear of it. */
export const MAX_PAYLOAD = 7900;
const SEND_BATCH = 200;
/** Events waiting for a database that does not answer; past this the oldest are dropped. */
const MAX_OUTBOX = 50_000;
/** The listening connection is checked this often, so a silently dead one is noticed. */
const CHECK_MS = 15_000;

export interface BusLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface PostgresBusOptions {
  log: BusLog;
  onListenerError?: (err: unknown) => void;
  /** First reconnect delay, doubling per failure up to reconnectMaxMs (default 100 ms … 5 s). */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
}

/** What goes over the wire: the sending node, its sequence number, the event. */
interface Envelope {
  n: string;
  s: number;
  e: WireEvent;
}

type WireAlias = Omit<AliasRecord, 'createdAt' | 'expiresAt' | 'lastMessageAt'> & {
  createdAt: number;
  expiresAt: number | null;
  lastMessageAt: number | null;
};

type WireEvent =
  | { type: 'message'; userId: number; messageId: number }
  | { type: 'alias'; userId: number; event: 'created' | 'updated' | 'deleted' | 'expired'; alias: WireAlias }
  | { type: 'flags' | 'expunge'; userId: number; messageIds: number[] };

const ALIAS_EVENTS = new Set(['created', 'updated', 'deleted', 'expired']);
const time = (d: Date | null) => (d === null ? null : d.getTime());
const date = (t: number | null) => (t === null ? null : new Date(t));

/** The channel of one schema's relay nodes: deployments in other schemas of the database never hear it. */
export function channelFor(schema: string): string {
  return `wisp_events_${(fnv1a(schema) >>> 0).toString(36)}`;
}

export class PostgresBus implements Bus {
  readonly nodeId = randomBytes(6).toString('hex');
  readonly channel: string;
  /** Counters for /metrics and tests. */
  readonly stats = { sent: 0, received: 0, dropped: 0, reconnects: 0 };

  private local: InProcessBus;
  private remote = new WeakSet<RelayEvent>();
  private seq = 0;
  private outbox: string[] = [];
  private sending: Promise<void> | null = null;
  private listener: pg.Client | null = null;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly store: PostgresStore,
    private readonly options: PostgresBusOptions,
  ) {
    this.channel = channelFor(store.schema);
    this.local = new InProcessBus(options.onListenerError);
  }

  /** Connects the listening connection; the relay starts only once other nodes can reach it. */
  async start(): Promise<void> {
    await this.listen();
    this.checkTimer = setInterval(() => {
      const client = this.listener;
      if (client) void client.query('SELECT 1').catch((err: unknown) => this.lost(client, err));
    }, CHECK_MS);
    this.checkTimer.unref();
  }

  publish(event: RelayEvent): void {
    this.local.publish(event);
    // resync is each node's own business; a remote event came from the node that published it.
    if (event.type === 'resync' || this.remote.has(event) || this.closed) return;
    for (const payload of this.encode(event)) this.outbox.push(payload);
    if (this.outbox.length > MAX_OUTBOX) {
      const drop = this.outbox.length - MAX_OUTBOX;
      this.outbox.splice(0, drop);
      this.stats.dropped += drop;
      this.options.log.warn({ dropped: drop }, 'event bus: the database is not taking events; dropped the oldest');
    }
    this.sending ??= this.send();
  }

  subscribe(listener: (event: RelayEvent) => void): () => void {
    return this.local.subscribe(listener);
  }

  isRemote(event: RelayEvent): boolean {
    return this.remote.has(event);
  }

  /** Sends what is queued, stops listening. */
  async close(): Promise<void> {
    if (this.sending) await Promise.race([this.sending, new Promise((resolve) => setTimeout(resolve, 2000))]);
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.checkTimer) clearInterval(this.checkTimer);
    const client = this.listener;
    this.listener = null;
    await client?.end().catch(() => {});
  }

  /** One or more payloads: a long list of ids is split so each part fits a NOTIFY. */
  encode(event: Exclude<RelayEvent, { type: 'resync' }>): string[] {
    const wrap = (e: WireEvent) => JSON.stringify({ n: this.nodeId, s: ++this.seq, e } satisfies Envelope);
    switch (event.type) {
      case 'message':
        return [wrap({ type: 'message', userId: event.userId, messageId: event.messageId })];
      case 'alias': {
        const a = event.alias;
        const alias: WireAlias = { ...a, createdAt: a.createdAt.getTime(), expiresAt: time(a.expiresAt), lastMessageAt: time(a.lastMessageAt) };
        const payload = wrap({ type: 'alias', userId: event.userId, event: event.event, alias });
        if (Buffer.byteLength(payload) <= MAX_PAYLOAD) return [payload];
        // Only a label far beyond what the API accepts gets here: the rest of the record must go.
        return [wrap({ type: 'alias', userId: event.userId, event: event.event, alias: { ...alias, label: (a.label ?? '').slice(0, 200) } })];
      }
      case 'flags':
      case 'expunge': {
        const out: string[] = [];
        const split = (ids: number[]) => {
          const payload = wrap({ type: event.type, userId: event.userId, messageIds: ids });
          if (Buffer.byteLength(payload) <= MAX_PAYLOAD || ids.length <= 1) out.push(payload);
          else {
            split(ids.slice(0, ids.length >> 1));
            split(ids.slice(ids.length >> 1));
          }
        };
        split(event.messageIds);
        return out;
      }
    }
  }

  /** The event a payload of another node stands for; null for our own, or for anything malformed. */
  decode(payload: string): RelayEvent | null {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(payload) as Envelope;
    } catch {
      return null;
    }
    if (typeof envelope !== 'object' || envelope === null || envelope.n === this.nodeId) return null;
    const e = envelope.e;
    if (typeof e !== 'object' || e === null || typeof e.userId !== 'number') return null;
    switch (e.type) {
      case 'message':
        return typeof e.messageId === 'number' ? { type: 'message', userId: e.userId, messageId: e.messageId } : null;
      case 'flags':
      case 'expunge':
        return Array.isArray(e.messageIds) ? { type: e.type, userId: e.userId, messageIds: e.messageIds.filter((id) => typeof id === 'number') } : null;
      case 'alias': {
        const a = e.alias;
        if (typeof a !== 'object' || a === null || typeof a.id !== 'number' || !ALIAS_EVENTS.has(e.event)) return null;
        const alias: AliasRecord = { ...a, createdAt: new Date(a.createdAt), expiresAt: date(a.expiresAt), lastMessageAt: date(a.lastMessageAt) };
        return { type: 'alias', userId: e.userId, event: e.event, alias };
      }
      default:
        return null;
    }
  }

  /** Sends the outbox in order, a batch per statement, retrying while the database is away. */
  private async send(): Promise<void> {
    let failures = 0;
    while (this.outbox.length > 0 && !this.closed) {
      const batch = this.outbox.slice(0, SEND_BATCH);
      try {
        // One statement: its notifications are delivered in this order, after it commits.
        await this.store.pool.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, i) ORDER BY i', [
          this.channel,
          batch,
        ]);
        this.outbox.splice(0, batch.length);
        this.stats.sent += batch.length;
        failures = 0;
      } catch (err) {
        failures++;
        if (failures === 1) this.options.log.warn({ err }, 'event bus: NOTIFY failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, this.backoff(failures)).unref());
      }
    }
    this.sending = null;
  }

  private backoff(failures: number): number {
    const base = this.options.reconnectBaseMs ?? 100;
    const ceiling = Math.min(this.options.reconnectMaxMs ?? 5000, base * 2 ** Math.max(0, failures - 1));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ ...this.store.settings.config, application_name: 'wisp-bus' });
    client.on('notification', (msg) => {
      if (msg.channel !== this.channel || msg.payload === undefined) return;
      const event = this.decode(msg.payload);
      if (!event) return;
      this.stats.received++;
      this.remote.add(event);
      this.local.publish(event);
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      if (this.closed) {
        await client.end();
        return;
      }
      this.listener = client;
      this.options.log.info({ node: this.nodeId, channel: this.channel, backendPid: rows[0]?.pid }, 'event bus listening');
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw err;
    }
  }

  /** The listening connection is gone: listen again after a backoff, then let consumers catch up. */
  private lost(client: pg.Client, err?: unknown): void {
    if (this.closed || this.listener !== client) return;
    this.listener = null;
    void client.end().catch(() => {});
    this.options.log.warn({ err }, 'event bus: lost the LISTEN connection; reconnecting');
    this.reconnect();
  }

  private reconnect(): void {
    if (this.closed || this.retryTimer) return;
    this.failures++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.listen().then(
        () => {
          if (this.closed) return;
          this.failures = 0;
          this.stats.reconnects++;
          // Whatever other nodes published while we were not listening is in the Store.
          this.local.publish({ type: 'resync' });
        },
        (err: unknown) => {
          if (this.failures === 1 || this.failures % 10 === 0) this.options.log.warn({ err, attempt: this.failures }, 'event bus: reconnect failed');
          this.reconnect();
        },
      );
    }, this.backoff(this.failures));
  }
}
