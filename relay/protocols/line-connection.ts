// The socket edge that IMAP and POP3 share: received commands queued and run one at a time in
// order, reading paused while too many wait, output flushed with backpressure, the idle timeouts,
// the in-place TLS upgrade (STARTTLS / STLS), and closing. Framing, replies and session state stay
// in each protocol's folder.
import type net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log.ts';
import { isLoopback } from './loopback.ts';

/** What a mail session may ask of its connection; `Line` is what one client line reads as. */
export interface LineIo<Line> {
  /** Queues bytes for the client (strings are latin1 byte strings). */
  write(parts: (string | Buffer)[]): void;
  /** Sends what is queued and waits while the socket is backed up. */
  flush(): Promise<void>;
  /** The next line the client sends (an AUTH continuation, IMAP's DONE); null once it is gone. */
  readLine(): Promise<Line | null>;
  /**
   * Stops reading and drops anything the client pipelined after STARTTLS / STLS; returns the
   * function that switches the connection to TLS once the positive reply is on the wire.
   */
  beginTls(): () => Promise<void>;
  /** Ends the connection once what is queued has been sent. */
  close(): void;
  /** Logged in: the longer idle timeout (and, for IMAP, message-sized literals) apply. */
  authenticated(): void;
  readonly secure: boolean;
  readonly loopback: boolean;
  readonly remoteAddress: string;
  readonly id: string;
}

export interface LineConnectionOptions {
  /** For log messages: `imap`, `pop3`. */
  protocol: string;
  /** The command that upgrades to TLS, for log messages. */
  startTls: string;
  secureContext: tls.SecureContext;
  /** Idle time allowed until `setIdleTimeout` says otherwise. */
  timeoutMs: number;
  /** Past this many received commands waiting, the socket stops being read. */
  queueHigh: number;
}

export abstract class LineConnection<Line> {
  abstract readonly id: string;
  readonly remoteAddress: string;
  readonly loopback: boolean;
  secure: boolean;
  /** Told once the connection is gone. */
  onClose: () => void = () => {};

  protected socket: net.Socket;
  protected queue: Line[] = [];
  protected closed = false;
  protected readonly log: Logger;
  private lineWaiter: ((line: Line | null) => void) | null = null;
  private busy = false;
  private paused = false;
  private timeoutMs: number;

  constructor(
    socket: net.Socket,
    secure: boolean,
    log: Logger,
    private readonly settings: LineConnectionOptions,
  ) {
    this.socket = socket;
    this.secure = secure;
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.loopback = isLoopback(socket.remoteAddress);
    this.timeoutMs = settings.timeoutMs;
    this.log = log;
  }

  /** The first line the client is sent. */
  protected abstract greeting(): string;
  abstract write(parts: (string | Buffer)[]): void;
  /** Splits received bytes into lines and hands each command to `deliver`, in order. */
  protected abstract receive(chunk: Buffer): void;
  /** Runs one received command to its end. */
  protected abstract run(line: Line): Promise<void>;
  /** Puts queued output on the socket; `done`: nothing more is coming for now. */
  protected abstract send(done?: boolean): void;
  /** Forgets any partial line; the bytes before a TLS handshake are not carried over. */
  protected abstract resetInput(): void;
  /** The idle timeout has passed. */
  protected abstract timedOut(): void;
  /** The connection is gone: the session ends. */
  protected abstract ended(): void;
  /** After each command, once reading may have resumed. */
  protected afterCommand?(): Promise<void>;

  start(): void {
    this.attach(this.socket);
    this.write([this.greeting()]);
    void this.flush();
  }

  /** A received command: to the waiting `readLine`, or queued for its turn. */
  protected deliver(line: Line): void {
    if (this.lineWaiter) {
      const waiter = this.lineWaiter;
      this.lineWaiter = null;
      waiter(line);
    } else this.queue.push(line);
  }

  protected setIdleTimeout(ms: number): void {
    this.timeoutMs = ms;
    this.socket.setTimeout(ms);
  }

  private readonly onData = (chunk: Buffer) => {
    this.receive(chunk);
    if (this.queue.length > this.settings.queueHigh && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    this.pump();
  };

  private readonly onEnd = () => this.destroy();
  private readonly onError = (err: Error) => {
    this.log.debug({ err, conn: this.id }, `${this.settings.protocol} socket error`);
    this.destroy();
  };
  private readonly onTimeout = () => this.timedOut();

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

  /** Runs queued commands one at a time, in order. */
  private pump(): void {
    if (this.busy || this.closed) return;
    this.busy = true;
    void (async () => {
      try {
        while (this.queue.length > 0 && !this.closed) {
          await this.run(this.queue.shift()!);
          if (this.paused && this.queue.length < this.settings.queueHigh / 2) {
            this.paused = false;
            this.socket.resume();
          }
          if (this.afterCommand) await this.afterCommand();
        }
      } catch (err) {
        this.log.warn({ err, conn: this.id }, `${this.settings.protocol} connection failed`);
        this.destroy();
      } finally {
        this.busy = false;
      }
    })();
  }

  async flush(): Promise<void> {
    this.send(true);
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

  readLine(): Promise<Line | null> {
    if (this.closed) return Promise.resolve(null);
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => (this.lineWaiter = resolve));
  }

  beginTls(): () => Promise<void> {
    // Nothing the client pipelined before the handshake may be taken as a command after it.
    this.socket.pause();
    this.queue = [];
    this.resetInput();
    return async () => {
      if (this.closed) return;
      const plain = this.socket;
      this.detach(plain);
      const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: this.settings.secureContext });
      this.socket = secure;
      this.secure = true;
      await new Promise<void>((resolve) => {
        const fail = (err: Error) => {
          this.log.debug({ err, conn: this.id }, `${this.settings.protocol} ${this.settings.startTls} handshake failed`);
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
    this.send(true);
    this.finish();
    this.socket.end();
    // A peer that never closes its side does not keep the socket.
    setTimeout(() => this.socket.destroy(), 5_000).unref();
  }

  /** Drops the connection at once, sending nothing more. */
  protected destroy(): void {
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
    this.ended();
    this.onClose();
  }
}
