// A deliberately tiny SMTP client for load generation: one plain TCP socket, one command at a
// time (no pipelining), no TLS, no AUTH. It costs the bench process as little as possible so that
// the server under test, not the client, sets the pace.

import net from 'node:net';
import { performance } from 'node:perf_hooks';

export interface SmtpReply {
  code: number;
  /** The reply's lines joined with "\n", codes stripped. */
  text: string;
  /** performance.now() when the reply's last line was read. */
  at: number;
}

export class SmtpError extends Error {
  constructor(
    readonly stage: string,
    readonly reply: SmtpReply | null,
    message?: string,
  ) {
    super(message ?? `${stage}: ${reply ? `${reply.code} ${reply.text}` : 'no reply'}`);
    this.name = 'SmtpError';
  }
}

interface Waiter {
  resolve: (reply: SmtpReply) => void;
  reject: (error: Error) => void;
}

const DOT_CRLF = Buffer.from('.\r\n');

/**
 * Puts a message into DATA form once, ahead of time: CRLF line ends, leading dots doubled, and a
 * final CRLF so that ".\r\n" can follow it directly.
 */
export function toDataPayload(message: string): Buffer {
  let text = message.replace(/\r?\n/g, '\r\n');
  if (!text.endsWith('\r\n')) text += '\r\n';
  text = text.replace(/(^|\r\n)\./g, '$1..');
  return Buffer.from(text, 'utf8');
}

export class SmtpConnection {
  private pending = '';
  private lines: string[] = [];
  private readonly replies: SmtpReply[] = [];
  private readonly waiters: Waiter[] = [];
  private failure: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  /** Connects, waits for the 220 greeting and says EHLO. */
  static async open(host: string, port: number, heloName = 'bench.localhost'): Promise<SmtpConnection> {
    const socket = net.connect({ host, port });
    const connection = new SmtpConnection(socket);
    const greeting = await connection.read();
    if (greeting.code !== 220) throw new SmtpError('greeting', greeting);
    await connection.command(`EHLO ${heloName}`, 250, 'EHLO');
    return connection;
  }

  /**
   * Sends one message: MAIL, RCPT, DATA, payload (from toDataPayload). Returns the final reply to
   * DATA, whose `at` is the moment the server accepted the message.
   */
  async send(from: string, to: string, payload: Buffer): Promise<SmtpReply> {
    await this.command(`MAIL FROM:<${from}>`, 250, 'MAIL');
    await this.command(`RCPT TO:<${to}>`, 250, 'RCPT');
    await this.command('DATA', 354, 'DATA');
    this.socket.cork();
    this.socket.write(payload);
    this.socket.write(DOT_CRLF);
    this.socket.uncork();
    const reply = await this.read();
    if (reply.code !== 250) throw new SmtpError('end of DATA', reply);
    return reply;
  }

  /** Says QUIT and waits for the socket to close (or gives up after a second). */
  async quit(): Promise<void> {
    if (this.failure) return;
    const closed = new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      setTimeout(resolve, 1000).unref();
    });
    try {
      await this.command('QUIT', 221, 'QUIT');
    } catch {
      // the server may close before replying; either way the session is over
    }
    this.socket.end();
    await closed;
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private async command(line: string, expect: number, stage: string): Promise<SmtpReply> {
    this.socket.write(`${line}\r\n`);
    const reply = await this.read();
    if (reply.code !== expect) throw new SmtpError(stage, reply);
    return reply;
  }

  private read(): Promise<SmtpReply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private onData(chunk: Buffer): void {
    this.pending += chunk.toString('latin1');
    let end: number;
    while ((end = this.pending.indexOf('\r\n')) >= 0) {
      const line = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + 2);
      this.lines.push(line);
      // "250-..." continues a multi-line reply; "250 ..." (or a bare "250") ends it
      if (line.length > 3 && line[3] === '-') continue;
      const reply: SmtpReply = {
        code: Number.parseInt(line.slice(0, 3), 10),
        text: this.lines.map((l) => l.slice(4)).join('\n'),
        at: performance.now(),
      };
      this.lines = [];
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(reply);
      else this.replies.push(reply);
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}
