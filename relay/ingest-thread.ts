// Runs the ingest writer (MIME parsing, extraction and the durable commit) on a worker thread with
// its own Store connection, so the protocol thread never waits for mailparser or fsync. The
// protocol thread keeps the sockets, the event bus and every read.
import { Worker } from 'node:worker_threads';
import type { Delivery, MessageWriter } from './core/ingest.ts';

export interface IngestRequest {
  seq: number;
  raw: Uint8Array;
  mailFrom: string;
  recipients: { id: number; userId: number }[];
  receivedAt: number;
}

export type IngestResponse = { seq: number; ids: number[] } | { seq: number; error: string } | { ready: true } | { ready: false; error: string };

// Workers cannot start from a .ts file on Node 20, so a one-line loader registers tsx first.
const LOADER = `import('tsx/esm/api').then((m) => { m.register(); return import(require('node:worker_threads').workerData.entry); })`;

export interface IngestThread {
  write: MessageWriter;
  close(): Promise<void>;
}

export async function startIngestThread(dbUrl: string, onError: (err: unknown) => void): Promise<IngestThread> {
  const pending = new Map<number, { resolve: (ids: number[]) => void; reject: (err: Error) => void }>();
  let seq = 0;
  let closing = false;
  let worker: Worker;

  function spawn(): Promise<void> {
    worker = new Worker(LOADER, { eval: true, workerData: { entry: new URL('./ingest-worker.ts', import.meta.url).href, dbUrl } });
    return new Promise((resolve, reject) => {
      worker.on('message', (msg: IngestResponse) => {
        if ('ready' in msg) return msg.ready ? resolve() : reject(new Error(msg.error));
        const waiter = pending.get(msg.seq);
        pending.delete(msg.seq);
        if ('ids' in msg) waiter?.resolve(msg.ids);
        else waiter?.reject(new Error(msg.error));
      });
      worker.on('error', (err) => {
        onError(err);
        reject(err);
      });
      worker.on('exit', () => {
        // Whatever was in flight was not acknowledged; its senders retry. A new thread takes over.
        for (const waiter of pending.values()) waiter.reject(new Error('the ingest thread stopped'));
        pending.clear();
        if (!closing) spawn().catch(onError);
      });
    });
  }

  await spawn();

  return {
    write(delivery: Delivery) {
      return new Promise<number[]>((resolve, reject) => {
        const request: IngestRequest = {
          seq: ++seq,
          raw: delivery.raw,
          mailFrom: delivery.mailFrom,
          recipients: delivery.recipients.map((r) => ({ id: r.id, userId: r.userId })),
          receivedAt: delivery.receivedAt.getTime(),
        };
        pending.set(request.seq, { resolve, reject });
        worker.postMessage(request);
      });
    },
    async close() {
      closing = true;
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage('close');
      await exited;
    },
  };
}
