// The background's WebSocket: auth with `since`, pings, dead-link detection, backoff, and no retry
// after the relay refuses the token. A fake socket and fake timers stand in for the network.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BACKOFF_MAX_MS, PING_MS, PONG_TIMEOUT_MS, RelayConnection, backoff } from '../../extension/background/connection.ts';
import type { SocketLike } from '../../extension/background/connection.ts';
import type { WsServerFrame } from '../../shared/api.ts';
import type { ConnectionStatus } from '../../extension/utils/storage.ts';

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: string[] = [];
  closed: number | null = null;
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(data);
  }
  close(code = 1000): void {
    this.closed = code;
    this.readyState = 3;
  }
  // test side
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  frame(f: unknown): void {
    this.onmessage?.({ data: JSON.stringify(f) });
  }
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
}

function setup(since: string | null = '41') {
  const sockets: FakeSocket[] = [];
  const frames: WsServerFrame[] = [];
  const statuses: ConnectionStatus[] = [];
  const conn = new RelayConnection({
    url: 'ws://relay/api/ws',
    token: 'T',
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    since: async () => since,
    onFrame: (f) => void frames.push(f),
    onStatus: (s) => void statuses.push(s),
    random: () => 1, // no jitter: the ceiling
  });
  return { conn, sockets, frames, statuses, last: () => sockets[sockets.length - 1]! };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('RelayConnection', () => {
  it('authenticates with the token and since, and goes live on hello', async () => {
    const { conn, last, frames, statuses } = setup('41');
    conn.start();
    last().open();
    await vi.advanceTimersByTimeAsync(0);
    expect(JSON.parse(last().sent[0]!)).toEqual({ type: 'auth', token: 'T', since: '41' });
    last().frame({ type: 'hello', user: 'me' });
    last().frame({ type: 'message', message: { id: '42' } });
    await vi.advanceTimersByTimeAsync(0);
    expect(conn.connected).toBe(true);
    expect(statuses.at(-1)).toMatchObject({ state: 'connected', user: 'me' });
    expect(frames.map((f) => f.type)).toEqual(['hello', 'message']);
  });

  it('omits since when there is none', async () => {
    const { conn, last } = setup(null);
    conn.start();
    last().open();
    await vi.advanceTimersByTimeAsync(0);
    expect(JSON.parse(last().sent[0]!)).toEqual({ type: 'auth', token: 'T' });
  });

  it('pings every 20 s and reconnects when no answer comes within 10 s', async () => {
    const { conn, sockets, last } = setup();
    conn.start();
    last().open();
    await vi.advanceTimersByTimeAsync(0);
    last().frame({ type: 'hello', user: 'me' });
    await vi.advanceTimersByTimeAsync(PING_MS);
    expect(last().sent.at(-1)).toBe('{"type":"ping"}');
    last().frame({ type: 'pong' });
    await vi.advanceTimersByTimeAsync(PING_MS);
    expect(last().sent.filter((s) => s.includes('ping'))).toHaveLength(2);
    // No pong this time: the link is dead.
    await vi.advanceTimersByTimeAsync(PONG_TIMEOUT_MS);
    expect(sockets[0]!.closed).toBe(4000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sockets).toHaveLength(2);
  });

  it('backs off 1 s, 2 s, 4 s … up to a minute, and resets after a good hello', async () => {
    const { conn, sockets, last } = setup();
    conn.start();
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      last().drop();
      const before = sockets.length;
      let waited = 0;
      while (sockets.length === before) {
        await vi.advanceTimersByTimeAsync(250);
        waited += 250;
      }
      waits.push(waited);
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    last().open();
    await vi.advanceTimersByTimeAsync(0);
    last().frame({ type: 'hello', user: 'me' });
    last().drop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(last().readyState).toBe(0); // a new socket after one second again
  });

  it('stops for good when the relay refuses the token (4401)', async () => {
    const { conn, sockets, last, statuses } = setup();
    conn.start();
    last().open();
    await vi.advanceTimersByTimeAsync(0);
    last().drop(4401);
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(sockets).toHaveLength(1);
    expect(statuses.at(-1)?.state).toBe('refused');
    conn.ensure();
    expect(sockets).toHaveLength(1);
  });

  it('gives up on a socket that opens but never says hello', async () => {
    const { conn, sockets, last } = setup();
    conn.start();
    last().open();
    await vi.advanceTimersByTimeAsync(15_000);
    expect(sockets[0]!.closed).toBe(4000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sockets).toHaveLength(2);
  });

  it('ensure() reconnects at once instead of waiting out the backoff', async () => {
    const { conn, sockets, last } = setup();
    conn.start();
    for (let i = 0; i < 5; i++) {
      last().drop();
      await vi.advanceTimersByTimeAsync(BACKOFF_MAX_MS);
    }
    const n = sockets.length;
    last().drop();
    conn.ensure();
    expect(sockets).toHaveLength(n + 1);
  });

  it('backoff() stays within half and all of its ceiling', () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const ceiling = Math.min(BACKOFF_MAX_MS, 1000 * 2 ** attempt);
      expect(backoff(attempt, () => 0)).toBe(ceiling / 2);
      expect(backoff(attempt, () => 0.999999)).toBeLessThanOrEqual(ceiling);
    }
  });
});
