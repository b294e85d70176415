// Push over WebSocket (INTERFACE.md §3). The first frame must authenticate; with `since`, the
// client first gets every message it missed, oldest first, then live frames, with none lost or
// repeated in between. A message event is a hint, not the message: the hub reads the Store from
// the last id it pushed for that user, so events that arrive out of order from other relay nodes,
// or not at all while the bus reconnects (`resync`), still push every message once, in id order.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { WS_CLOSE_AUTH_TIMEOUT, WS_CLOSE_BAD_TOKEN } from '../../shared/api.ts';
import type { WsServerFrame } from '../../shared/api.ts';
import type { Bus, RelayEvent, Store, User } from '../core/ports.ts';
import type { Users } from '../core/users.ts';
import type { RateLimiter } from '../core/rate-limit.ts';
import { aliasToWire, messageToWire } from '../core/wire.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';

const PATH = '/api/ws';
const CLOSE_BAD_FRAME = 4400;
const CATCH_UP_PAGE = 500;
const HEARTBEAT_MS = 30_000;
/** A client this far behind is dropped; it reconnects with `since` and misses nothing. */
const MAX_BUFFERED = 4 * 1024 * 1024;

export interface WsDeps {
  users: Users;
  store: Store;
  bus: Bus;
  authFailures: RateLimiter;
  log: Logger;
  metrics: Metrics;
  authTimeoutMs: number;
}

class Session {
  /** Live frames held back until the catch-up is done; null once live. */
  private pending: { frame: WsServerFrame; messageId?: number }[] | null = [];
  alive = true;

  constructor(
    readonly ws: WebSocket,
    readonly user: User,
    private metrics: Metrics,
    /** The newest message id the client has: its `since`, else the newest one when it connected. */
    private lastMessageId: number,
  ) {}

  send(frame: WsServerFrame, messageId?: number): void {
    if (this.pending) this.pending.push({ frame, messageId });
    else this.deliver(frame, messageId);
  }

  /** Sends what was missed after `since`, then what arrived meanwhile, then goes live. */
  async catchUp(store: Store, since: number | null): Promise<void> {
    if (since !== null) {
      for (;;) {
        const missed = await store.listMessagesAfter(this.user.id, this.lastMessageId, CATCH_UP_PAGE);
        for (const m of missed) this.deliver({ type: 'message', message: messageToWire(m) }, m.id);
        if (missed.length < CATCH_UP_PAGE || this.ws.readyState !== this.ws.OPEN) break;
      }
    }
    const queued = this.pending ?? [];
    this.pending = null;
    for (const { frame, messageId } of queued) this.deliver(frame, messageId);
  }

  /** Message frames go out once each, in id order, whether they came from the catch-up or live. */
  private deliver(frame: WsServerFrame, messageId?: number): void {
    if (messageId !== undefined) {
      if (messageId <= this.lastMessageId) return;
      this.lastMessageId = messageId;
    }
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > MAX_BUFFERED) {
      this.ws.terminate();
      return;
    }
    this.ws.send(JSON.stringify(frame));
    this.metrics.pushes.inc({ type: frame.type });
  }
}

export function attachWebSocket(server: http.Server, deps: WsDeps): { close(): void } {
  const { users, store, bus, authFailures, log, metrics } = deps;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sessions = new Map<number, Set<Session>>();
  // Per-user chains keep each user's frames in the order the events happened.
  const chains = new Map<number, Promise<void>>();
  /** Per user with sessions: the newest message id pushed (or present when the first connected). */
  const pushed = new Map<number, number>();
  /** Users whose read of new mail is queued on their chain already: one read serves many events. */
  const reading = new Set<number>();

  function forUser(userId: number, work: () => Promise<void>): void {
    const next = (chains.get(userId) ?? Promise.resolve()).then(work).catch((err: unknown) => log.error({ err }, 'push failed'));
    chains.set(userId, next);
    void next.then(() => {
      if (chains.get(userId) === next) chains.delete(userId);
    });
  }

  /** Pushes the user's messages stored since the last push to each of the user's sessions. */
  function pushNewMail(userId: number): void {
    if (reading.has(userId)) return;
    reading.add(userId);
    forUser(userId, async () => {
      reading.delete(userId);
      for (;;) {
        const targets = sessions.get(userId);
        const after = pushed.get(userId);
        if (!targets?.size || after === undefined) return;
        const fresh = await store.listMessagesAfter(userId, after, CATCH_UP_PAGE);
        for (const message of fresh) {
          const frame: WsServerFrame = { type: 'message', message: messageToWire(message) };
          for (const s of targets) s.send(frame, message.id);
        }
        if (pushed.has(userId)) pushed.set(userId, Math.max(pushed.get(userId)!, fresh.at(-1)?.id ?? after));
        if (fresh.length < CATCH_UP_PAGE) return;
      }
    });
  }

  const unsubscribe = bus.subscribe((event: RelayEvent) => {
    // Missed events of other nodes: whatever arrived meanwhile is read from the Store.
    if (event.type === 'resync') {
      for (const userId of sessions.keys()) pushNewMail(userId);
      return;
    }
    // Flag changes and expunges are for mail clients (IMAP); the WebSocket pushes neither.
    if (event.type !== 'message' && event.type !== 'alias') return;
    const targets = sessions.get(event.userId);
    if (!targets?.size) return;
    if (event.type === 'message') return pushNewMail(event.userId);
    forUser(event.userId, async () => {
      const frame: WsServerFrame = { type: 'alias', event: event.event, alias: aliasToWire(event.alias) };
      for (const s of targets) s.send(frame);
    });
  });

  function register(session: Session, newest: number): () => void {
    const set = sessions.get(session.user.id) ?? new Set();
    set.add(session);
    sessions.set(session.user.id, set);
    if (!pushed.has(session.user.id)) pushed.set(session.user.id, newest);
    metrics.wsSessions.inc();
    return () => {
      set.delete(session);
      if (set.size === 0) {
        sessions.delete(session.user.id);
        pushed.delete(session.user.id);
      }
      metrics.wsSessions.dec();
    };
  }

  async function authenticate(ws: WebSocket, remote: string, data: string): Promise<void> {
    let frame: { type?: unknown; token?: unknown; since?: unknown };
    try {
      frame = JSON.parse(data) as typeof frame;
    } catch {
      return ws.close(CLOSE_BAD_FRAME, 'The first frame must be {"type":"auth","token":...}');
    }
    if (frame?.type !== 'auth') return ws.close(CLOSE_BAD_FRAME, 'The first frame must be {"type":"auth","token":...}');
    let since: number | null = null;
    if (frame.since !== undefined && frame.since !== null) {
      if (!/^\d{1,15}$/.test(String(frame.since))) return ws.close(CLOSE_BAD_FRAME, 'since must be a message id');
      since = Number(frame.since);
    }
    const user = await users.authenticate(frame.token);
    if (!user) {
      // Past the limit, the refusal comes slowly: guessing tokens gets no faster by reconnecting.
      if (authFailures.take(remote) > 0) await new Promise((r) => setTimeout(r, 1000));
      return ws.close(WS_CLOSE_BAD_TOKEN, 'Bad token');
    }
    // Live pushes start after the newest message stored now; `since` reaches further back.
    const newest = (await store.listMessages(user.id, { limit: 1 })).items[0]?.id ?? 0;
    if (ws.readyState !== ws.OPEN) return;
    const session = new Session(ws, user, metrics, since ?? newest);
    const unregister = register(session, newest);
    ws.on('close', unregister);
    ws.on('pong', () => {
      session.alive = true;
    });
    ws.on('message', (raw) => {
      // Browsers cannot send ping control frames, so an application-level ping keeps idle links alive.
      if (raw.toString() === '{"type":"ping"}') ws.send('{"type":"pong"}');
    });
    ws.send(JSON.stringify({ type: 'hello', user: user.name } satisfies WsServerFrame));
    await session.catchUp(store, since);
    heartbeats.add(session);
    ws.on('close', () => heartbeats.delete(session));
  }

  const heartbeats = new Set<Session>();
  const heartbeat = setInterval(() => {
    for (const s of heartbeats) {
      if (!s.alive) {
        s.ws.terminate();
        continue;
      }
      s.alive = false;
      s.ws.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  wss.on('connection', (ws: WebSocket, req: http.IncomingMessage) => {
    const remote = req.socket.remoteAddress ?? '';
    const timer = setTimeout(() => ws.close(WS_CLOSE_AUTH_TIMEOUT, 'No auth frame in time'), deps.authTimeoutMs);
    ws.on('error', (err) => log.debug({ err }, 'websocket error'));
    ws.once('message', (data) => {
      clearTimeout(timer);
      authenticate(ws, remote, data.toString()).catch((err: unknown) => {
        log.error({ err }, 'websocket auth failed');
        ws.close(1011, 'Internal error');
      });
    });
    ws.on('close', () => clearTimeout(timer));
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = new URL(req.url ?? '/', 'http://relay').pathname;
    if (pathname !== PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"error":"WebSockets are served at /api/ws."}');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  return {
    close() {
      unsubscribe();
      clearInterval(heartbeat);
      for (const ws of wss.clients) ws.close(1001, 'The relay is shutting down');
      wss.close();
    },
  };
}
