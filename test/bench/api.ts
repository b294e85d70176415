// The relay's HTTP API and WebSocket, as far as the benchmark needs them.

import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import type { Alias, Summary, WsServerFrame } from '../../shared/api.ts';

export interface MessagePage {
  messages: Summary[];
  next: string | null;
}

export class Api {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 200)}`);
    return JSON.parse(text) as T;
  }

  createAlias(site: string): Promise<Alias> {
    return this.request<Alias>('POST', '/api/aliases', { site, ttl: null });
  }

  async aliases(): Promise<Alias[]> {
    return (await this.request<{ aliases: Alias[] }>('GET', '/api/aliases')).aliases;
  }

  listMessages(query: { limit: number; cursor?: string; alias?: string }): Promise<MessagePage> {
    const params = new URLSearchParams({ limit: String(query.limit) });
    if (query.cursor !== undefined) params.set('cursor', query.cursor);
    if (query.alias !== undefined) params.set('alias', query.alias);
    return this.request<MessagePage>('GET', `/api/messages?${params.toString()}`);
  }

  /** Milliseconds one listing takes, as the client sees it (request to parsed JSON). */
  async timeListing(query: { limit: number; cursor?: string; alias?: string }): Promise<number> {
    const start = performance.now();
    const page = await this.listMessages(query);
    const elapsed = performance.now() - start;
    if (page.messages.length === 0) throw new Error('listing returned no messages');
    return elapsed;
  }
}

export interface Arrival {
  /** performance.now() when the frame was received. */
  at: number;
  message: Summary;
}

/** The WebSocket push channel, with arrivals indexed by the code the relay extracted. */
export class PushListener {
  private readonly arrived = new Map<string, Arrival>();
  private readonly waiting = new Map<string, (arrival: Arrival) => void>();
  /** Message frames whose summary had no code. */
  uncoded = 0;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const at = performance.now();
      const frame = JSON.parse(String(data)) as WsServerFrame;
      if (frame.type !== 'message') return;
      const code = frame.message.code;
      if (code === null) {
        this.uncoded += 1;
        return;
      }
      const arrival = { at, message: frame.message };
      const waiter = this.waiting.get(code);
      if (waiter) {
        this.waiting.delete(code);
        waiter(arrival);
      } else {
        this.arrived.set(code, arrival);
      }
    });
  }

  static async connect(url: string, token: string, timeoutMs = 10000): Promise<PushListener> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no hello on the WebSocket')), timeoutMs);
      socket.once('error', reject);
      socket.once('close', (code) => reject(new Error(`WebSocket closed with ${code} before hello`)));
      socket.once('open', () => socket.send(JSON.stringify({ type: 'auth', token })));
      socket.once('message', (data) => {
        clearTimeout(timer);
        const frame = JSON.parse(String(data)) as { type?: string };
        if (frame.type === 'hello') resolve();
        else reject(new Error(`expected hello, got ${String(data).slice(0, 200)}`));
      });
    });
    socket.removeAllListeners('close');
    socket.removeAllListeners('error');
    socket.on('error', () => {});
    return new PushListener(socket);
  }

  /** The arrival of the message with this code (already arrived or still to come). */
  waitFor(code: string, timeoutMs: number): Promise<Arrival> {
    const early = this.arrived.get(code);
    if (early) {
      this.arrived.delete(code);
      return Promise.resolve(early);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(code);
        reject(new Error(`no WebSocket frame with code ${code} within ${timeoutMs} ms (${this.uncoded} frames had no code)`));
      }, timeoutMs);
      this.waiting.set(code, (arrival) => {
        clearTimeout(timer);
        resolve(arrival);
      });
    });
  }

  close(): void {
    this.socket.close();
  }
}
