// IMAP: a header scan (`UID FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE)`) and a full download
// (`UID FETCH 1:* BODY.PEEK[]`) of N messages in INBOX, from the relay and, when Dovecot is
// installed, from a throwaway Dovecot holding the very same bytes (its own config, Maildir and
// passwd-file in a temporary directory, on a loopback port; no system service). One lean client
// over a raw socket measures both, in alternating rounds after a warm-up, on one open session each.
//
//   npm run bench -- --imap-only [--quick]

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Api } from './api.ts';
import { reusedConnections } from './load.ts';
import { startMailRelay } from './mail-relay.ts';
import { buildMessage, SENDER } from './message.ts';
import { count, markdownTable, median, rate, textTable } from './stats.ts';
import { DOVECOT, prepareDovecot, waitForPort } from './dovecot.ts';

/** Wisp may take at most this many times Dovecot's time for either operation. */
export const IMAP_TARGET = 1.5;

export const HEADER_SCAN = 'UID FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE)';
export const FULL_DOWNLOAD = 'UID FETCH 1:* BODY.PEEK[]';

export interface Pass {
  /** FETCH responses received. */
  messages: number;
  /** Bytes received for the command, literals included. */
  bytes: number;
  /** Bytes inside literals (the message bodies, for the download). */
  literalBytes: number;
  ms: number;
}

const LITERAL_AT_END = /\{(\d+)\+?\}$/;

/**
 * A minimal IMAP client: one command at a time, responses read as a stream of lines whose
 * literals are skipped (or kept, when asked) without ever copying the whole response.
 */
export class LeanImap {
  private line: Buffer[] = [];
  /** The first line of a response that goes on after a literal: what tells its kind and tag. */
  private head: string | null = null;
  private literalLeft = 0;
  private keep: Buffer[][] | null = null;
  private current: Buffer[] = [];
  private onLine: (text: string) => void = () => {};
  private failure: Error | null = null;
  private fail: (e: Error) => void = () => {};
  private received = 0;
  private literalBytes = 0;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.feed(chunk));
    const broken = (e: Error) => {
      this.failure = e;
      this.fail(e);
    };
    socket.on('error', broken);
    socket.on('close', () => broken(new Error('connection closed by the server')));
  }

  static async open(port: number): Promise<LeanImap> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new LeanImap(socket);
    await new Promise<void>((resolve, reject) => {
      client.fail = reject;
      client.onLine = (text) => (text.startsWith('* OK') ? resolve() : reject(new Error(`greeting: ${text}`)));
    });
    return client;
  }

  private feed(chunk: Buffer): void {
    this.received += chunk.length;
    let at = 0;
    while (at < chunk.length) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, chunk.length - at);
        if (this.keep) this.current.push(chunk.subarray(at, at + take));
        this.literalLeft -= take;
        this.literalBytes += take;
        at += take;
        if (this.literalLeft === 0 && this.keep) {
          this.keep.push(this.current);
          this.current = [];
        }
        continue;
      }
      const end = chunk.indexOf(0x0a, at);
      if (end === -1) {
        this.line.push(chunk.subarray(at));
        return;
      }
      this.line.push(chunk.subarray(at, end + 1));
      at = end + 1;
      const text = Buffer.concat(this.line).toString('latin1').replace(/\r?\n$/, '');
      this.line = [];
      const literal = LITERAL_AT_END.exec(text);
      if (literal) {
        this.literalLeft = Number(literal[1]);
        this.head ??= text;
        if (this.literalLeft === 0 && this.keep) this.keep.push([]);
        continue;
      }
      const head = this.head ?? text;
      this.head = null;
      this.onLine(head);
    }
  }

  /**
   * Runs one command and resolves on its tagged OK with what came back. `keepLiterals` collects
   * every literal of the response in order.
   */
  async run(tag: string, command: string, keepLiterals?: Buffer[][]): Promise<Pass & { untagged: string[] }> {
    if (this.failure) throw this.failure;
    const untagged: string[] = [];
    let messages = 0;
    this.received = 0;
    this.literalBytes = 0;
    this.keep = keepLiterals ?? null;
    const started = performance.now();
    const done = new Promise<void>((resolve, reject) => {
      this.fail = reject;
      this.onLine = (text) => {
        if (text.startsWith(`${tag} `)) {
          if (text.startsWith(`${tag} OK`)) resolve();
          else reject(new Error(`${command.replace(/LOGIN .*/, 'LOGIN …')}: ${text}`));
        } else if (text.startsWith('* ')) {
          if (/^\* \d+ FETCH /.test(text)) messages++;
          else untagged.push(text);
        }
      };
    });
    this.socket.write(`${tag} ${command}\r\n`);
    await done;
    const ms = performance.now() - started;
    this.keep = null;
    return { messages, bytes: this.received, literalBytes: this.literalBytes, ms, untagged };
  }

  async close(): Promise<void> {
    await this.run('Z', 'LOGOUT').catch(() => undefined);
    this.socket.destroy();
  }
}

const quoted = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;

/** Logs in, SELECTs INBOX and checks it holds `n` messages. */
async function session(port: number, user: string, pass: string, n: number): Promise<LeanImap> {
  const client = await LeanImap.open(port);
  await client.run('L', `LOGIN ${quoted(user)} ${quoted(pass)}`);
  const selected = await client.run('S', 'SELECT INBOX');
  const exists = Number(selected.untagged.map((l) => /^\* (\d+) EXISTS/.exec(l)?.[1]).find(Boolean));
  if (exists !== n) throw new Error(`INBOX holds ${exists} messages, expected ${n}`);
  return client;
}

interface Dovecot {
  port: number;
  stop(): Promise<void>;
}

/**
 * A Dovecot of our own: config, passwd-file and Maildir in `dir`, IMAP on a free loopback port,
 * no TLS. Messages are stored as Dovecot's LDA would store them: LF line ends, with the size (S=)
 * and the CRLF size (W=) in the file name, so neither needs a read to be known.
 */
async function startDovecot(dir: string, messages: Buffer[]): Promise<Dovecot> {
  const { conf, port } = await prepareDovecot(dir, messages, {
    protocol: 'imap',
    authMechanisms: 'plain login',
    file: (m, i) => {
      const lf = Buffer.from(m.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
      return { name: `${1_700_000_000 + i}.M${i}P1.bench,S=${lf.length},W=${m.length}:2,`, bytes: lf };
    },
    service: (port) => `service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
`,
  });
  const child = spawn(DOVECOT, ['-F', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => {
    let text = stderr;
    try {
      text += execFileSync('tail', ['-n', '20', path.join(dir, 'dovecot.log')]).toString();
    } catch {
      // no log yet
    }
    return text.trim() || '(no output)';
  };
  try {
    await Promise.race([waitForPort(port, 10_000, log), exited.then(() => Promise.reject(new Error(`dovecot exited: ${log()}`)))]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface ImapFigures {
  server: string;
  messages: number;
  scan: Pass;
  download: Pass;
}

export interface ImapResult {
  n: number;
  size: number;
  rounds: number;
  relay: ImapFigures;
  dovecot: ImapFigures | { skipped: string };
}

/** The median pass (by time) of each operation. */
function medianPass(passes: Pass[]): Pass {
  const ms = median(passes.map((p) => p.ms));
  return passes.find((p) => p.ms === ms) ?? passes[0]!;
}

function dovecotUnavailable(): string | null {
  if (!existsSync(DOVECOT)) return 'skipped: dovecot-imapd not installed (apt-get install dovecot-imapd)';
  if (!existsSync('/usr/lib/dovecot/imap')) return 'skipped: dovecot-imapd not installed (apt-get install dovecot-imapd)';
  if (process.getuid?.() !== 0) return 'skipped: starting a throwaway Dovecot needs root';
  return null;
}

export async function imapBench(options: { n: number; size: number; rounds: number; tag: string; progress: (line: string) => void }): Promise<ImapResult> {
  const { n, size, rounds, tag, progress } = options;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wisp-bench-imap-'));
  const dovecotDir = mkdtempSync(path.join(os.tmpdir(), 'wisp-bench-dovecot-imap-'));
  const relay = await startMailRelay(dataDir, ['http', 'smtp', 'imap']);
  const clients: LeanImap[] = [];
  let dovecot: Dovecot | null = null;
  try {
    const api = new Api(`http://127.0.0.1:${relay.ports.http}`, relay.token);
    const alias = await api.createAlias('imap.bench.example');
    progress(`imap: storing ${count(n)} messages of ${size / 1024} KiB in the relay over SMTP`);
    const filled = await reusedConnections(
      { host: '127.0.0.1', port: relay.ports.smtp! },
      { connections: 8, total: n, source: (index) => ({ from: SENDER, to: alias.address, payload: buildMessage({ to: alias.address, index, size, tag }) }) },
    );
    if (filled.delivered !== n) throw new Error(`only ${filled.delivered} of ${n} messages were stored: ${filled.errors[0] ?? ''}`);

    const wisp = await session(relay.ports.imap!, relay.user, relay.token, n);
    clients.push(wisp);
    // The warm-up download also yields the exact bytes the relay serves: Dovecot gets the same.
    progress('imap: warming up the relay (one scan, one download)');
    await wisp.run('W1', HEADER_SCAN);
    const bodies: Buffer[][] = [];
    const warm = await wisp.run('W2', FULL_DOWNLOAD, bodies);
    if (warm.messages !== n || bodies.length !== n) throw new Error(`the warm-up download got ${warm.messages} messages, expected ${n}`);

    const skipped = dovecotUnavailable();
    let other: LeanImap | null = null;
    if (!skipped) {
      progress('imap: starting dovecot with the same messages');
      dovecot = await startDovecot(dovecotDir, bodies.map((parts) => Buffer.concat(parts)));
      other = await session(dovecot.port, 'bench', 'secret', n);
      clients.push(other);
      progress('imap: warming up dovecot (one scan, one download: it builds its index and cache)');
      await other.run('W1', HEADER_SCAN);
      await other.run('W2', FULL_DOWNLOAD);
    }
    bodies.length = 0;

    const passes = { wisp: { scan: [] as Pass[], download: [] as Pass[] }, dovecot: { scan: [] as Pass[], download: [] as Pass[] } };
    const check = (p: Pass, what: string) => {
      if (p.messages !== n) throw new Error(`${what} returned ${p.messages} messages, expected ${n}`);
      return p;
    };
    for (let r = 0; r < rounds; r++) {
      progress(`imap: round ${r + 1} of ${rounds}`);
      passes.wisp.scan.push(check(await wisp.run(`A${r}`, HEADER_SCAN), 'wisp scan'));
      if (other) passes.dovecot.scan.push(check(await other.run(`A${r}`, HEADER_SCAN), 'dovecot scan'));
      passes.wisp.download.push(check(await wisp.run(`B${r}`, FULL_DOWNLOAD), 'wisp download'));
      if (other) passes.dovecot.download.push(check(await other.run(`B${r}`, FULL_DOWNLOAD), 'dovecot download'));
    }
    const figures = (server: string, p: { scan: Pass[]; download: Pass[] }): ImapFigures => ({
      server,
      messages: n,
      scan: medianPass(p.scan),
      download: medianPass(p.download),
    });
    return {
      n,
      size,
      rounds,
      relay: figures('wisp', passes.wisp),
      dovecot: skipped ? { skipped } : figures('dovecot', passes.dovecot),
    };
  } catch (error) {
    process.stderr.write(`\nlast relay output:\n${relay.tail()}\n`);
    throw error;
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await dovecot?.stop();
    await relay.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(dovecotDir, { recursive: true, force: true });
  }
}

const mibps = (bytes: number, ms: number) => `${(bytes / 2 ** 20 / (ms / 1000)).toFixed(1)} MiB/s`;
const timeCell = (p: Pass, n: number) => `${p.ms.toFixed(0)} ms (${rate((n * 1000) / p.ms)}, ${mibps(p.bytes, p.ms)})`;

/** The IMAP section of the bench's output. */
export function imapReport(result: ImapResult): string {
  const { n, size, rounds, relay, dovecot } = result;
  const rows = [[relay.server, timeCell(relay.scan, n), timeCell(relay.download, n)]];
  const lines = [
    '',
    `(g) IMAP: ${count(n)} messages of ${size / 1024} KiB in INBOX, one client on one session (raw socket, no TLS), median of ${rounds} rounds after a warm-up`,
  ];
  const summary: string[][] = [
    [`IMAP header scan, ${count(n)} messages (wisp)`, `${relay.scan.ms.toFixed(0)} ms`, '', ''],
    [`IMAP full download, ${count(n)} × ${size / 1024} KiB (wisp)`, `${relay.download.ms.toFixed(0)} ms, ${mibps(relay.download.bytes, relay.download.ms)}`, '', ''],
  ];
  if ('skipped' in dovecot) {
    rows.push(['dovecot', dovecot.skipped, '']);
    lines.push(textTable(['server', `header scan: ${HEADER_SCAN}`, `full download: ${FULL_DOWNLOAD}`], rows), '');
    summary.push(['IMAP vs Dovecot', dovecot.skipped, '', '']);
  } else {
    rows.push([dovecot.server, timeCell(dovecot.scan, n), timeCell(dovecot.download, n)]);
    const scanRatio = relay.scan.ms / dovecot.scan.ms;
    const downloadRatio = relay.download.ms / dovecot.download.ms;
    const verdict = (x: number) => (x <= IMAP_TARGET ? 'PASS' : 'FAIL');
    rows.push(['wisp / dovecot time', `${scanRatio.toFixed(2)}× ${verdict(scanRatio)}`, `${downloadRatio.toFixed(2)}× ${verdict(downloadRatio)}`]);
    lines.push(
      textTable(['server', `header scan: ${HEADER_SCAN}`, `full download: ${FULL_DOWNLOAD}`], rows),
      `  target: wisp takes at most ${IMAP_TARGET}× Dovecot's time. Body bytes served: wisp ${count(relay.download.literalBytes)}, dovecot ${count(dovecot.download.literalBytes)}.`,
      '  dovecot: a throwaway instance (Maildir written as its LDA would, LF line ends, S= and W= sizes in the names), indexes built by the warm-up.',
      '',
    );
    summary[0] = [`IMAP header scan, ${count(n)} messages`, `wisp ${relay.scan.ms.toFixed(0)} ms vs dovecot ${dovecot.scan.ms.toFixed(0)} ms = ${scanRatio.toFixed(2)}×`, `≤ ${IMAP_TARGET}×`, verdict(scanRatio)];
    summary[1] = [
      `IMAP full download, ${count(n)} × ${size / 1024} KiB`,
      `wisp ${relay.download.ms.toFixed(0)} ms vs dovecot ${dovecot.download.ms.toFixed(0)} ms = ${downloadRatio.toFixed(2)}×`,
      `≤ ${IMAP_TARGET}×`,
      verdict(downloadRatio),
    ];
  }
  lines.push(markdownTable(['measure', 'result', 'target', ''], summary));
  return lines.join('\n');
}

/** Runs the IMAP bench with the run's size and returns its printed section. */
export async function imapBenches(options: { quick: boolean; tag: string; progress: (line: string) => void }): Promise<string> {
  const result = await imapBench({
    n: options.quick ? 1000 : 10_000,
    size: 4 * 1024,
    rounds: options.quick ? 2 : 5,
    tag: options.tag,
    progress: options.progress,
  });
  return imapReport(result);
}
