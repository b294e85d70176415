// Submission throughput: messages per second that SMTP submission (STARTTLS, AUTH, a From check,
// a DKIM signature, a durable queue insert) answers 250 to, over a few pooled connections; then
// how long the queue takes to drain through a smarthost that discards what it gets.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import type net from 'node:net';
import { Api } from './api.ts';
import { startMailRelay } from './mail-relay.ts';

export interface SubmissionResult {
  messages: number;
  size: number;
  connections: number;
  /** Seconds from the first MAIL to the last 250. */
  acceptSeconds: number;
  /** Seconds from the first MAIL until the smarthost had every message. */
  drainSeconds: number;
}

async function startDiscardSmarthost(onMessage: () => void): Promise<{ port: number; close(): Promise<void> }> {
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => {
        onMessage();
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export async function submissionBench(options: { n: number; size: number; connections: number; progress: (line: string) => void }): Promise<SubmissionResult> {
  let received = 0;
  let drained: () => void = () => {};
  const smarthost = await startDiscardSmarthost(() => {
    if (++received >= options.n) drained();
  });
  const allDrained = new Promise<void>((resolve) => (drained = resolve));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wisp-bench-submission-'));
  const relay = await startMailRelay(dataDir, ['http', 'submission'], ['--smarthost', `smtp://127.0.0.1:${smarthost.port}`]);
  try {
    const api = new Api(`http://127.0.0.1:${relay.ports.http}`, relay.token);
    const alias = await api.createAlias('submission.bench.example');
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: relay.ports.submission!,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: relay.user, pass: relay.token },
      pool: true,
      maxConnections: options.connections,
      maxMessages: Infinity,
    });
    const text = `${'A reply from a throwaway address. '.repeat(Math.ceil(options.size / 34))}`.slice(0, options.size);
    const send = (i: number) => transport.sendMail({ from: alias.address, to: `reader${i % 50}@far.example`, subject: `bench ${i}`, text, inReplyTo: `<thread-${i}@far.example>` });
    options.progress(`submission: warming up`);
    await Promise.all(Array.from({ length: options.connections * 4 }, (_, i) => send(i)));
    received -= options.connections * 4;
    options.progress(`submission: ${options.n} messages over ${options.connections} connections`);
    const started = performance.now();
    await Promise.all(Array.from({ length: options.n }, (_, i) => send(i)));
    const acceptSeconds = (performance.now() - started) / 1000;
    transport.close();
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the queue did not drain: ${received} of ${options.n}`)), 120_000).unref());
    await Promise.race([allDrained, timeout]);
    return { messages: options.n, size: options.size, connections: options.connections, acceptSeconds, drainSeconds: (performance.now() - started) / 1000 };
  } catch (error) {
    process.stderr.write(`\nlast relay output:\n${relay.tail()}\n`);
    throw error;
  } finally {
    await relay.stop();
    await smarthost.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
