// Runs the durable commit of incoming mail on a worker thread with its own Store connection, so
// the protocol thread never waits for fsync. The protocol thread keeps the sockets, MIME parsing,
// the event bus and every read: the two threads share the per-message work about evenly.
import { Worker } from 'node:worker_threads';
import type { MessageWriter } from './core/ingest.ts';
import type { NewMessage } from './core/ports.ts';

export interface IngestRequest {
  seq: number;
  /** Structured clone carries the Buffers as Uint8Arrays and the Dates as Dates. */
  messages: (Omit<NewMessage, 'raw'> & { raw: Uint8Array })[];
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
    write(messages: NewMessage[]) {
      return new Promise<number[]>((resolve, reject) => {
        const request: IngestRequest = { seq: ++seq, messages };
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
