// The socket edge of a POP3 session: bytes in through the line splitter, one command at a time
// through the dispatcher (pipelined commands wait their turn), replies out with backpressure,
// STLS, and the timeouts. A timed-out connection is closed without a word and without entering
// UPDATE (RFC 1939 §3), so nothing is deleted. The queueing, TLS upgrade and closing shared with
// IMAP are in ../line-connection.ts.
import type net from 'node:net';
import type tls from 'node:tls';
import { dispatch, render } from './commands.ts';
import { LineSplitter } from './parser.ts';
import { Session } from './session.ts';
import type { SessionDeps, SessionIo } from './session.ts';
import { LineConnection } from '../line-connection.ts';

export interface ConnectionOptions {
  secureContext: tls.SecureContext;
  /** Idle time allowed before login. */
  unauthenticatedTimeoutMs: number;
  /** Idle time allowed after login (RFC 1939 asks for at least 10 minutes). */
  idleTimeoutMs: number;
}

/**
 * RFC 2449 bounds a command at 255 octets; an AUTH PLAIN response with a long address and token
 * needs more, so lines up to 1 KiB are read and longer ones refused.
 */
export const MAX_LINE = 1024;
/** Past this many lines waiting, the socket stops being read. */
const QUEUE_HIGH = 256;
/** Replies are gathered up to this size before a write. */
const OUT_CHUNK = 256 * 1024;
/** Unknown commands in a row before the connection is closed: it is not a POP3 client. */
const MAX_BAD_COMMANDS = 20;

type Input = Buffer | 'too-long';

let nextId = 0;

export class Connection extends LineConnection<Input> implements SessionIo {
  readonly id = `pop3-${++nextId}`;
  readonly session: Session;

  private splitter = new LineSplitter(MAX_LINE);
  private out: (string | Buffer)[] = [];
  private outBytes = 0;
  private badCommands = 0;

  constructor(
    socket: net.Socket,
    secure: boolean,
    deps: SessionDeps,
    private options: ConnectionOptions,
  ) {
    super(socket, secure, deps.log, {
      protocol: 'pop3',
      startTls: 'STLS',
      secureContext: options.secureContext,
      timeoutMs: options.unauthenticatedTimeoutMs,
      queueHigh: QUEUE_HIGH,
    });
    this.session = new Session(deps, this);
  }

  protected greeting(): string {
    // No timestamp in the greeting: APOP is not offered (the relay keeps only token hashes).
    return '+OK Wisp POP3 ready\r\n';
  }

  protected receive(chunk: Buffer): void {
    for (const e of this.splitter.push(chunk)) this.deliver(e.type === 'line' ? e.line : 'too-long');
  }

  protected timedOut(): void {
    this.destroy();
  }

  /** Replies to a pipelined burst go out together. */
  protected override async afterCommand(): Promise<void> {
    if (this.queue.length === 0 || this.outBytes >= OUT_CHUNK) await this.flush();
  }

  protected async run(input: Input): Promise<void> {
    if (input === 'too-long') {
      this.write([`-ERR The command line is longer than ${MAX_LINE} bytes.\r\n`]);
      return this.countBad();
    }
    let outcome;
    try {
      outcome = await dispatch(this.session, input);
    } catch (error) {
      this.log.error({ err: error, conn: this.id, command: input.toString('latin1').split(' ')[0]?.slice(0, 20) }, 'pop3 command failed');
      outcome = { reply: { ok: false, code: 'SYS/TEMP', text: 'Something went wrong on our side; try again.' }, known: true };
    }
    this.write(render(outcome.reply));
    if (outcome.known) this.badCommands = 0;
    else this.countBad();
    if (outcome.reply.after) {
      await this.flush();
      await outcome.reply.after();
    }
  }

  private countBad(): void {
    if (++this.badCommands < MAX_BAD_COMMANDS) return;
    this.write(['-ERR Too many bad commands; closing.\r\n']);
    this.close();
  }

  protected resetInput(): void {
    this.splitter.reset();
  }

  protected ended(): void {
    this.session.end();
  }

  // ------------------------------------------------------------------------------ SessionIo

  write(parts: (string | Buffer)[]): void {
    if (this.closed) return;
    for (const p of parts) {
      this.out.push(p);
      this.outBytes += p.length;
    }
  }

  protected send(): void {
    if (this.out.length === 0 || this.closed) return;
    const parts = this.out;
    this.out = [];
    this.outBytes = 0;
    const data = parts.length === 1 && Buffer.isBuffer(parts[0]) ? parts[0] : Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
    this.socket.write(data);
  }

  authenticated(): void {
    this.setIdleTimeout(this.options.idleTimeoutMs);
  }

  /** The server is stopping: the connection goes without a word, like a timeout, deleting nothing. */
  shutdown(): void {
    this.destroy();
  }
}
