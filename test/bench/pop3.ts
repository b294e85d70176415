// POP3 download: N stored messages fetched with pipelined RETRs by one client, from the relay and,
// when dovecot-pop3d is installed, from a throwaway Dovecot (its own config, Maildir and
// passwd-file in a temporary directory, on a loopback port; no system service) holding the same
// messages. The same client measures both.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Api } from './api.ts';
import { startMailRelay } from './mail-relay.ts';
import { buildMessage, SENDER } from './message.ts';
import { SmtpConnection } from './smtp-client.ts';
import { DOVECOT, prepareDovecot, waitForPort } from './dovecot.ts';

export interface Pop3Figures {
  server: string;
  messages: number;
  bytes: number;
  seconds: number;
}

export interface Pop3Result {
  relay: Pop3Figures;
  dovecot: Pop3Figures | { skipped: string };
}

/** A pipelined POP3 download of every message: login, STAT, then RETR 1..n with `window` in flight. */
export async function download(port: number, user: string, pass: string, window = 64): Promise<Pop3Figures & { statMessages: number }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  let buf: Buffer = Buffer.alloc(0);
  let wake: () => void = () => {};
  let failed: Error | null = null;
  socket.on('data', (c: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, c]) : c;
    wake();
  });
  socket.on('error', (e) => {
    failed = e;
    wake();
  });
  const more = () =>
    new Promise<void>((resolve, reject) => {
      if (failed) return reject(failed);
      wake = resolve;
    });
  const line = async (): Promise<string> => {
    for (;;) {
      const i = buf.indexOf('\r\n');
      if (i !== -1) {
        const l = buf.subarray(0, i).toString('latin1');
        buf = buf.subarray(i + 2);
        return l;
      }
      await more();
    }
  };
  const expectOk = async (what: string) => {
    const l = await line();
    if (!l.startsWith('+OK')) throw new Error(`${what}: ${l}`);
    return l;
  };
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  await expectOk('greeting');
  socket.write(`USER ${user}\r\n`);
  await expectOk('USER');
  socket.write(`PASS ${pass}\r\n`);
  await expectOk('PASS');
  socket.write('STAT\r\n');
  const n = Number((await expectOk('STAT')).split(' ')[1]);

  const started = performance.now();
  let sent = 0;
  let bytes = 0;
  const send = (upTo: number) => {
    let out = '';
    while (sent < upTo) out += `RETR ${++sent}\r\n`;
    if (out) socket.write(out);
  };
  send(Math.min(window, n));
  let searchFrom = 0;
  for (let got = 0; got < n; ) {
    await expectOk(`RETR ${got + 1}`);
    // The body ends at the first CRLF . CRLF (a lone dot line is stuffed).
    for (;;) {
      const end = buf.length >= 3 && buf[0] === 0x2e && buf[1] === 0x0d && buf[2] === 0x0a ? -2 : buf.indexOf('\r\n.\r\n', searchFrom);
      if (end !== -1) {
        const used = end === -2 ? 3 : end + 5;
        bytes += used - 3;
        buf = buf.subarray(used);
        searchFrom = 0;
        break;
      }
      searchFrom = Math.max(0, buf.length - 4);
      await more();
    }
    got++;
    send(Math.min(got + window, n));
  }
  const seconds = (performance.now() - started) / 1000;
  socket.write('QUIT\r\n');
  await line().catch(() => '');
  socket.destroy();
  return { server: '', messages: n, bytes, seconds, statMessages: n };
}

async function fill(smtpPort: number, to: string, n: number, size: number, tag: string): Promise<Buffer[]> {
  const connections = 8;
  const kept: Buffer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const c = await SmtpConnection.open('127.0.0.1', smtpPort);
      try {
        while (next < n) {
          const index = next++;
          const payload = buildMessage({ to, index, size, tag });
          kept[index] = payload;
          await c.send(SENDER, to, payload);
        }
      } finally {
        await c.quit();
      }
    }),
  );
  return kept;
}

/** Dovecot with the same messages in a Maildir; null when it is not installed. */
async function withDovecot<T>(messages: Buffer[], body: (port: number) => Promise<T>): Promise<T | null> {
  if (!existsSync(DOVECOT)) return null;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wisp-bench-dovecot-'));
  const { conf, port } = await prepareDovecot(dir, messages, {
    protocol: 'pop3',
    authMechanisms: 'plain',
    // Maildir files hold the message as received: DATA form undone (CRLF kept, dots unstuffed).
    file: (m, i) => ({
      name: `${1_700_000_000 + i}.M${i}.bench:2,S`,
      bytes: Buffer.from(m.toString('latin1').replace(/(^|\r\n)\.\./g, '$1.'), 'latin1'),
    }),
    service: (port) => `service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${port}
  }
}
`,
  });
  const child = spawn(DOVECOT, ['-F', '-c', conf], { stdio: 'ignore' });
  try {
    await waitForPort(port, 10_000);
    return await body(port);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function pop3Bench(options: { n: number; size: number; tag: string; progress: (line: string) => void }): Promise<Pop3Result> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wisp-bench-pop3-'));
  const relay = await startMailRelay(dataDir, ['http', 'smtp', 'pop3']);
  try {
    const api = new Api(`http://127.0.0.1:${relay.ports.http}`, relay.token);
    const alias = await api.createAlias('pop3.bench.example');
    options.progress(`pop3: storing ${options.n} messages of ${options.size} bytes`);
    const messages = await fill(relay.ports.smtp!, alias.address, options.n, options.size, options.tag);
    // A first pass warms the relay up (and checks the count); the second is measured.
    options.progress('pop3: downloading from the relay');
    const warm = await download(relay.ports.pop3!, relay.user, relay.token);
    if (warm.messages !== options.n) throw new Error(`the relay's maildrop has ${warm.messages} messages, expected ${options.n}`);
    const measured = await download(relay.ports.pop3!, relay.user, relay.token);
    const relayFigures = { ...measured, server: 'wisp' };
    options.progress('pop3: downloading from dovecot');
    const dovecot = await withDovecot(messages, async (port) => {
      await download(port, 'bench', 'secret');
      return { ...(await download(port, 'bench', 'secret')), server: 'dovecot' };
    });
    return { relay: relayFigures, dovecot: dovecot ?? { skipped: 'skipped: dovecot-pop3d is not installed (apt-get install dovecot-pop3d)' } };
  } catch (error) {
    process.stderr.write(`\nlast relay output:\n${relay.tail()}\n`);
    throw error;
  } finally {
    await relay.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
