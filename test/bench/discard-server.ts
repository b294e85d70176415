// Starts the ceiling server (discard-worker.mjs) on its own thread and talks to it.

import { Worker } from 'node:worker_threads';
import type { SMTPServerOptions } from 'smtp-server';

/**
 * Configured like the relay's inbound listener: no reverse lookups, no AUTH, TLS offered through
 * STARTTLS (smtp-server's built-in certificate) but never required, the relay's default size limit,
 * connection limit and idle timeout.
 */
export const CEILING_OPTIONS: SMTPServerOptions = {
  disableReverseLookup: true,
  authOptional: true,
  disabledCommands: ['AUTH'],
  size: 25 * 1024 * 1024,
  maxClients: 1000,
  socketTimeout: 60_000,
};

type WorkerReply =
  | { type: 'listening'; port: number }
  | { type: 'stats'; accepted: number; cpuSeconds: number }
  | { type: 'closed' }
  | { type: 'error'; message: string };

export interface DiscardServer {
  host: string;
  port: number;
  /** Messages answered 250 so far, and the CPU time of the server's thread. */
  stats(): Promise<{ accepted: number; cpuSeconds: number }>;
  close(): Promise<void>;
}

export async function startDiscardServer(host = '127.0.0.1'): Promise<DiscardServer> {
  const worker = new Worker(new URL('./discard-worker.mjs', import.meta.url), {
    workerData: { host, options: CEILING_OPTIONS },
  });
  const next = (type: WorkerReply['type']): Promise<WorkerReply> =>
    new Promise((resolve, reject) => {
      const onMessage = (reply: WorkerReply): void => {
        if (reply.type === 'error') {
          cleanup();
          reject(new Error(`ceiling server: ${reply.message}`));
        } else if (reply.type === type) {
          cleanup();
          resolve(reply);
        }
      };
      const onError = (error: Error): void => {
        cleanup();
        reject(error);
      };
      const cleanup = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
    });

  const listening = await next('listening');
  const port = listening.type === 'listening' ? listening.port : 0;
  return {
    host,
    port,
    async stats() {
      const reply = next('stats');
      worker.postMessage({ type: 'stats' });
      const answer = await reply;
      return answer.type === 'stats' ? answer : { accepted: 0, cpuSeconds: Number.NaN };
    },
    async close() {
      const closed = next('closed');
      worker.postMessage({ type: 'close' });
      // smtp-server waits for open sessions; do not let a straggler hold the bench up
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      await worker.terminate();
    },
  };
}
