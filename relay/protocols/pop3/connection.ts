// The socket edge of a POP3 session: bytes in through the line splitter, one command at a time
// through the dispatcher (pipelined commands wait their turn), replies out with backpressure,
// STLS, and the timeouts. A timed-out connection is closed without a word and without entering
// UPDATE (RFC 1939 §3), so nothing is deleted.
import type net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../../log.ts';
import { dispatch, render } from './commands.ts';
import { LineSplitter } from './parser.ts';
import { Session } from './session.ts';
import type { SessionDeps, SessionIo } from './session.ts';
import { isLoopback } from '../loopback.ts';

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


export class Connection implements SessionIo {
  readonly id = `pop3-${++nextId}`;
  readonly remoteAddress: string;
  readonly loopback: boolean;
  secure: boolean;
  readonly session: Session;
  /** Told once the connection is gone. */
  onClose: () => void = () => {};

  private socket: net.Socket;
  private splitter = new LineSplitter(MAX_LINE);
  private queue: Input[] = [];
  private lineWaiter: ((line: Input | null) => void) | null = null;
  private busy = false;
  private closed = false;
  private paused = false;
  private out: (string | Buffer)[] = [];
  private outBytes = 0;
  private timeoutMs: number;
  private badCommands = 0;
  private log: Logger;

  constructor(
    socket: net.Socket,
    secure: boolean,
    deps: SessionDeps,
    private options: ConnectionOptions,
  ) {
    this.socket = socket;
    this.secure = secure;
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.loopback = isLoopback(socket.remoteAddress);
    this.timeoutMs = options.unauthenticatedTimeoutMs;
    this.log = deps.log;
    this.session = new Session(deps, this);
  }

  start(): void {
    this.attach(this.socket);
    // No timestamp in the greeting: APOP is not offered (the relay keeps only token hashes).
    this.write(['+OK Wisp POP3 ready\r\n']);
    void this.flush();
  }

  private readonly onData = (chunk: Buffer) => {
    for (const e of this.splitter.push(chunk)) {
      const input: Input = e.type === 'line' ? e.line : 'too-long';
      if (this.lineWaiter) {
        const waiter = this.lineWaiter;
        this.lineWaiter = null;
        waiter(input);
      } else this.queue.push(input);
    }
    if (this.queue.length > QUEUE_HIGH && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    this.pump();
  };

  private readonly onEnd = () => this.destroy();
  private readonly onError = (error: Error) => {
    this.log.debug({ err: error, conn: this.id }, 'pop3 socket error');
    this.destroy();
  };
  private readonly onTimeout = () => this.destroy();

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
    socket.on('timeout', this.onTimeout);
    socket.setTimeout(this.timeoutMs);
  }

  private detach(socket: net.Socket): void {
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onEnd);
    socket.off('error', this.onError);
    socket.off('timeout', this.onTimeout);
    socket.setTimeout(0);
  }

  /** Runs queued commands one at a time, in order; replies to a pipelined burst go out together. */
  private pump(): void {
    if (this.busy || this.closed) return;
    this.busy = true;
    void (async () => {
      try {
        while (this.queue.length > 0 && !this.closed) {
          const input = this.queue.shift()!;
          await this.run(input);
          if (this.paused && this.queue.length < QUEUE_HIGH / 2) {
            this.paused = false;
            this.socket.resume();
          }
          if (this.queue.length === 0 || this.outBytes >= OUT_CHUNK) await this.flush();
        }
      } catch (error) {
        this.log.warn({ err: error, conn: this.id }, 'pop3 connection failed');
        this.destroy();
      } finally {
        this.busy = false;
      }
    })();
  }

  private async run(input: Input): Promise<void> {
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

  // ------------------------------------------------------------------------------ SessionIo

  write(parts: (string | Buffer)[]): void {
    if (this.closed) return;
    for (const p of parts) {
      this.out.push(p);
      this.outBytes += p.length;
    }
  }

  private send(): void {
    if (this.out.length === 0 || this.closed) return;
    const parts = this.out;
    this.out = [];
    this.outBytes = 0;
    const data = parts.length === 1 && Buffer.isBuffer(parts[0]) ? parts[0] : Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
    this.socket.write(data);
  }

  async flush(): Promise<void> {
    this.send();
    const socket = this.socket;
    if (!socket.writableNeedDrain || this.closed) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  readLine(): Promise<Input | null> {
    if (this.closed) return Promise.resolve(null);
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => (this.lineWaiter = resolve));
  }

  authenticated(): void {
    this.timeoutMs = this.options.idleTimeoutMs;
    this.socket.setTimeout(this.timeoutMs);
  }

  beginTls(): () => Promise<void> {
    // Nothing the client pipelined before the handshake may be taken as a command after it.
    this.socket.pause();
    this.queue = [];
    this.splitter.reset();
    return async () => {
      if (this.closed) return;
      const plain = this.socket;
      this.detach(plain);
      const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: this.options.secureContext });
      this.socket = secure;
      this.secure = true;
      await new Promise<void>((resolve) => {
        const fail = (error: Error) => {
          this.log.debug({ err: error, conn: this.id }, 'pop3 STLS handshake failed');
          this.destroy();
          resolve();
        };
        secure.once('secure', () => {
          secure.off('error', fail);
          this.attach(secure);
          resolve();
        });
        secure.once('error', fail);
      });
    };
  }

  close(): void {
    if (this.closed) return;
    this.send();
    this.finish();
    this.socket.end();
    // A peer that never closes its side does not keep the socket.
    setTimeout(() => this.socket.destroy(), 5_000).unref();
  }

  /** The server is stopping: the connection goes without a word, like a timeout, deleting nothing. */
  shutdown(): void {
    this.destroy();
  }

  private destroy(): void {
    if (this.closed) return;
    this.finish();
    this.socket.destroy();
  }

  private finish(): void {
    this.closed = true;
    this.queue = [];
    const waiter = this.lineWaiter;
    this.lineWaiter = null;
    waiter?.(null);
    this.session.end();
    this.onClose();
  }
}
