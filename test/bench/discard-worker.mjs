// The ceiling: a bare smtp-server that reads and discards every message. It runs in a worker
// thread of the bench process so that it has a core of its own, as the relay's child process
// does. Plain JavaScript so that the worker needs no TypeScript loader.

import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { SMTPServer } from 'smtp-server';

let accepted = 0;

const server = new SMTPServer({
  ...workerData.options,
  logger: false,
  onData(stream, _session, callback) {
    stream.on('data', () => {});
    stream.on('end', () => {
      accepted += 1;
      callback();
    });
  },
});

server.on('error', (error) => parentPort?.postMessage({ type: 'error', message: String(error) }));

/** On-CPU seconds of this thread: /proc/thread-self is the thread that reads it. */
function cpuSeconds() {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e9;
  } catch {
    return Number.NaN;
  }
}

parentPort?.on('message', (message) => {
  if (message.type === 'stats') parentPort?.postMessage({ type: 'stats', accepted, cpuSeconds: cpuSeconds() });
  if (message.type === 'close') server.close(() => parentPort?.postMessage({ type: 'closed' }));
});

server.listen(0, workerData.host, () => {
  const address = server.server.address();
  parentPort?.postMessage({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
});
