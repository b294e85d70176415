// The ingest thread's side: its own Store connection, committing what the protocol thread parsed
// (see ingest-thread.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from './store/open.ts';
import type { IngestRequest, IngestResponse } from './ingest-thread.ts';

const port = parentPort;
if (!port) throw new Error('ingest-worker.ts runs only as a worker thread');
const reply = (msg: IngestResponse) => port.postMessage(msg);

try {
  // Writes go one group commit at a time: a shared database needs few connections for them.
  const store = await openStore((workerData as { dbUrl: string }).dbUrl, { poolSize: 3 });
  port.on('message', (msg: IngestRequest | 'close') => {
    if (msg === 'close') {
      // Closing flushes any commit still queued, then the thread ends.
      void store.close().finally(() => process.exit(0));
      return;
    }
    const messages = msg.messages.map((m) => ({ ...m, raw: Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength) }));
    store.saveMessages(messages).then(
      (ids) => reply({ seq: msg.seq, ids }),
      (err: unknown) => reply({ seq: msg.seq, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  reply({ ready: true });
} catch (err) {
  reply({ ready: false, error: err instanceof Error ? err.message : String(err) });
}
