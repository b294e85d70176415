// The WebSocket to the relay (INTERFACE.md §3): auth with `since` so nothing is missed across
// reconnects and service-worker restarts, an application-level ping every 20 s (which also keeps
// Chrome's MV3 service worker alive while the socket is useful), reconnect with capped
// exponential backoff and jitter, and no retry after the relay refuses the token.
import { WS_CLOSE_BAD_TOKEN } from '../../shared/api.ts';
import type { WsServerFrame } from '../../shared/api.ts';
import type { ConnectionStatus } from '../utils/storage.ts';

/** The part of the WebSocket interface used here (the browser's, or a test double). */
export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface ConnectionDeps {
  url: string;
  token: string;
  createSocket(url: string): SocketLike;
  /** The last message id seen, read fresh at every connect. */
  since(): Promise<string | null>;
  /** Called for every frame, one at a time, in order. */
  onFrame(frame: WsServerFrame): Promise<void> | void;
  onStatus(status: ConnectionStatus): void;
  random?: () => number;
}

export const PING_MS = 20_000;
export const PONG_TIMEOUT_MS = 10_000;
export const HELLO_TIMEOUT_MS = 15_000;
export const BACKOFF_MIN_MS = 1_000;
export const BACKOFF_MAX_MS = 60_000;

const OPEN = 1;

/** Delay before reconnect attempt n (0-based): 1 s, 2 s, 4 s … 60 s, each between 50 % and 100 %. */
export function backoff(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}

export class RelayConnection {
  private socket: SocketLike | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private deadline: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private refused = false;
  private chain: Promise<void> = Promise.resolve();
  private authed = false;

  constructor(private deps: ConnectionDeps) {}

  get connected(): boolean {
    return this.authed && this.socket?.readyState === OPEN;
  }

  start(): void {
    this.stopped = false;
    this.refused = false;
    void this.connect();
  }

  /** Connect now if not connected and not waiting for good reason (a refused token). */
  ensure(): void {
    if (this.stopped || this.refused) return;
    if (this.socket) return; // open or opening
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.attempt = 0;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const s = this.socket;
    this.socket = null;
    this.authed = false;
    if (s) {
      s.onclose = s.onmessage = s.onerror = s.onopen = null;
      try {
        s.close(1000, 'bye');
      } catch {
        /* already closed */
      }
    }
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.deadline) clearTimeout(this.deadline);
    this.retryTimer = this.pingTimer = this.deadline = null;
  }

  private status(s: Omit<ConnectionStatus, 'at'>): void {
    this.deps.onStatus({ ...s, at: Date.now() });
  }

  private async connect(): Promise<void> {
    if (this.stopped || this.socket) return;
    this.status({ state: 'connecting', detail: `Connecting to ${this.deps.url}` });
    let socket: SocketLike;
    try {
      socket = this.deps.createSocket(this.deps.url);
    } catch {
      this.scheduleRetry('The relay URL cannot be used for a WebSocket.');
      return;
    }
    this.socket = socket;
    this.authed = false;
    socket.onopen = () => {
      void this.deps.since().then((since) => {
        if (this.socket !== socket) return;
        socket.send(JSON.stringify(since ? { type: 'auth', token: this.deps.token, since } : { type: 'auth', token: this.deps.token }));
        this.expectWithin(HELLO_TIMEOUT_MS, socket);
      });
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      if (this.deadline) clearTimeout(this.deadline);
      this.deadline = null;
      let frame: WsServerFrame | { type: 'pong' };
      try {
        frame = JSON.parse(String(ev.data)) as WsServerFrame | { type: 'pong' };
      } catch {
        return;
      }
      if (frame.type === 'pong') return;
      if (frame.type === 'hello') {
        this.authed = true;
        this.attempt = 0;
        this.status({ state: 'connected', user: frame.user, detail: `Connected to ${this.deps.url} as ${frame.user}` });
        this.startPings(socket);
      }
      const f = frame;
      this.chain = this.chain.then(() => this.deps.onFrame(f)).catch((err: unknown) => console.error('wisp: frame handler failed', err));
    };
    socket.onerror = () => {
      /* followed by close */
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.authed = false;
      this.clearTimers();
      if (ev.code === WS_CLOSE_BAD_TOKEN) {
        this.refused = true;
        this.status({ state: 'refused', detail: 'The relay refused the token: pair again in the options.' });
        return;
      }
      this.scheduleRetry(`No connection to ${this.deps.url}`);
    };
  }

  /** Something must arrive on this socket within `ms`, or it is presumed dead. */
  private expectWithin(ms: number, socket: SocketLike): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = setTimeout(() => {
      if (this.socket !== socket) return;
      try {
        socket.close(4000, 'no answer');
      } catch {
        /* ignore */
      }
      // Some sockets never fire close after close(): treat it as closed now.
      socket.onclose?.({ code: 4000, reason: 'no answer' });
    }, ms);
  }

  private startPings(socket: SocketLike): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (this.socket !== socket || socket.readyState !== OPEN) return;
      socket.send('{"type":"ping"}');
      this.expectWithin(PONG_TIMEOUT_MS, socket);
    }, PING_MS);
  }

  private scheduleRetry(detail: string): void {
    if (this.stopped || this.refused) return;
    const delay = backoff(this.attempt++, this.deps.random);
    this.status({ state: 'offline', detail: `${detail}; retrying in ${Math.ceil(delay / 1000)} s.` });
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
  }
}
