// Load shapes driven with the raw client: a few long connections that each send messages back to
// back (how MTAs deliver), and a burst of one-message connections.

import { performance } from 'node:perf_hooks';
import { SmtpConnection } from './smtp-client.ts';

export interface Target {
  host: string;
  port: number;
}

export interface Envelope {
  from: string;
  to: string;
  payload: Buffer;
}

/** Builds message number `index` for connection number `connection`. */
export type MessageSource = (index: number, connection: number) => Envelope;

export interface LoadResult {
  /** Messages the server answered 250. */
  delivered: number;
  elapsedMs: number;
  perSecond: number;
  errors: string[];
}

function result(delivered: number, elapsedMs: number, errors: string[]): LoadResult {
  return { delivered, elapsedMs, perSecond: elapsedMs > 0 ? (delivered * 1000) / elapsedMs : 0, errors };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * `total` messages over `connections` connections opened beforehand, each sending its share one
 * after another. The clock runs from the first MAIL to the last 250, so connection setup (and
 * smtp-server's greeting delay) is not part of the figure.
 */
export async function reusedConnections(
  target: Target,
  options: {
    connections: number;
    total: number;
    source: MessageSource;
    onProgress?: (delivered: number) => void;
    onClockStart?: () => void;
  },
): Promise<LoadResult> {
  const { connections, total, source, onProgress } = options;
  const opening = Array.from({ length: connections }, () => SmtpConnection.open(target.host, target.port));
  const opened = await Promise.allSettled(opening);
  const sockets = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  const refused = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (refused) {
    for (const socket of sockets) socket.destroy();
    throw refused.reason;
  }
  const share = Math.ceil(total / connections);
  const errors: string[] = [];
  let delivered = 0;
  let last = 0;
  options.onClockStart?.();
  const start = performance.now();
  await Promise.all(
    sockets.map(async (socket, c) => {
      const first = c * share;
      const end = Math.min(total, first + share);
      for (let index = first; index < end; index++) {
        const { from, to, payload } = source(index, c);
        try {
          const reply = await socket.send(from, to, payload);
          delivered += 1;
          last = Math.max(last, reply.at);
          if (onProgress && delivered % 1000 === 0) onProgress(delivered);
        } catch (error) {
          errors.push(describe(error));
          return;
        }
      }
    }),
  );
  await Promise.all(sockets.map((socket) => socket.quit()));
  return result(delivered, (delivered > 0 ? last : performance.now()) - start, errors);
}

/**
 * `connections` connections opened at once, each sending one message and quitting. The clock runs
 * from before the first connect to the last 250, so it includes connection setup and greeting.
 */
export async function oneShotConnections(
  target: Target,
  options: { connections: number; source: MessageSource; onClockStart?: () => void },
): Promise<LoadResult> {
  const errors: string[] = [];
  let delivered = 0;
  let last = 0;
  options.onClockStart?.();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: options.connections }, async (_, c) => {
      let socket: SmtpConnection | null = null;
      try {
        socket = await SmtpConnection.open(target.host, target.port);
        const { from, to, payload } = options.source(c, c);
        const reply = await socket.send(from, to, payload);
        delivered += 1;
        last = Math.max(last, reply.at);
        await socket.quit();
      } catch (error) {
        errors.push(describe(error));
        socket?.destroy();
      }
    }),
  );
  return result(delivered, (delivered > 0 ? last : performance.now()) - start, errors);
}
