// The ingest thread's side: its own Store connection and the inline writer (see ingest-thread.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { inlineWriter } from './core/ingest.ts';
import { openStore } from './store/open.ts';
import type { IngestRequest, IngestResponse } from './ingest-thread.ts';

const port = parentPort;
if (!port) throw new Error('ingest-worker.ts runs only as a worker thread');
const reply = (msg: IngestResponse) => port.postMessage(msg);

try {
  const store = await openStore((workerData as { dbUrl: string }).dbUrl);
  const write = inlineWriter(store);
  port.on('message', (msg: IngestRequest | 'close') => {
    if (msg === 'close') {
      // Closing flushes any commit still queued, then the thread ends.
      void store.close().finally(() => process.exit(0));
      return;
    }
    const raw = Buffer.from(msg.raw.buffer, msg.raw.byteOffset, msg.raw.byteLength);
    write({ raw, mailFrom: msg.mailFrom, recipients: msg.recipients, receivedAt: new Date(msg.receivedAt) }).then(
      (ids) => reply({ seq: msg.seq, ids }),
      (err: unknown) => reply({ seq: msg.seq, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  reply({ ready: true });
} catch (err) {
  reply({ ready: false, error: err instanceof Error ? err.message : String(err) });
}
