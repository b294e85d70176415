// The socket edge of an IMAP session: bytes in through the framer, one command at a time through
// the dispatcher, responses out with backpressure, STARTTLS, and the idle timeouts (60 s before
// login, 30 min after).
import type net from 'node:net';
import tls from 'node:tls';
import type { FrameEvent } from './framer.ts';
import { Framer } from './framer.ts';
import { ResponseWriter } from './encoder.ts';
import { dispatch } from './registry.ts';
import type { Registry } from './registry.ts';
import { Session } from './session.ts';
import type { SessionDeps, SessionIo } from './session.ts';
import { isLoopback } from '../loopback.ts';

export interface ConnectionOptions {
  secureContext: tls.SecureContext;
  maxMessageSize: number;
  unauthenticatedTimeoutMs: number;
  authenticatedTimeoutMs: number;
}

/** Lines stay short; literals before login stay small (a password, a name). */
const MAX_LINE = 100 * 1024;
const UNAUTHENTICATED_LITERAL = 64 * 1024;
/** Past this many framed commands waiting, the socket stops being read. */
const QUEUE_HIGH = 64;
/** Output goes to the socket in writes of about this much, not one per response. */
const OUT_CHUNK = 256 * 1024;

let nextId = 0;


export class Connection implements SessionIo {
  readonly id = `imap-${++nextId}`;
  readonly remoteAddress: string;
  readonly loopback: boolean;
  secure: boolean;
  readonly session: Session;
  /** Told once the connection is gone. */
  onClose: () => void = () => {};

  private socket: net.Socket;
  private framer: Framer;
  private queue: Buffer[] = [];
  private lineWaiter: ((line: Buffer | null) => void) | null = null;
  private busy = false;
  private closed = false;
  private paused = false;
  /** Output not yet sent: strings written into its Buffer, small Buffers copied, large ones kept. */
  private out = new ResponseWriter(OUT_CHUNK);
  private timeoutMs: number;

  constructor(
    socket: net.Socket,
    secure: boolean,
    private registry: Registry,
    private deps: SessionDeps,
    private options: ConnectionOptions,
  ) {
    this.socket = socket;
    this.secure = secure;
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.loopback = isLoopback(socket.remoteAddress);
    this.timeoutMs = options.unauthenticatedTimeoutMs;
    this.framer = new Framer({ maxLine: MAX_LINE, maxLiteral: UNAUTHENTICATED_LITERAL, maxCommand: UNAUTHENTICATED_LITERAL + MAX_LINE });
    this.session = new Session(deps, this);
  }

  start(): void {
    this.attach(this.socket);
    this.write([`* OK [CAPABILITY ${this.session.capabilities().join(' ')}] Wisp IMAP ready\r\n`]);
    void this.flush();
  }

  private readonly onData = (chunk: Buffer) => {
    let events: FrameEvent[];
    try {
      events = this.framer.push(chunk);
    } catch (err) {
      this.deps.log.error({ err, conn: this.id }, 'imap framing failed');
      return this.destroy();
    }
    for (const e of events) this.onFrame(e);
    if (this.queue.length > QUEUE_HIGH && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    this.pump();
  };

  private onFrame(e: FrameEvent): void {
    if (e.type === 'command') {
      if (this.lineWaiter) {
        const waiter = this.lineWaiter;
        this.lineWaiter = null;
        waiter(e.bytes);
      } else this.queue.push(e.bytes);
    } else if (e.type === 'continue') {
      this.write(['+ Ready for literal data\r\n']);
      void this.flush();
    } else {
      const tag = e.tag ?? '*';
      if (e.kind === 'line-too-long') this.write([`${tag} BAD The command line is too long.\r\n`]);
      else if (this.session.state === 'not-authenticated') this.write([`${tag} BAD Log in before sending literals this large.\r\n`]);
      else this.write([`${tag} NO [TOOBIG] The literal is larger than the limit of ${this.framer.limits.maxLiteral} bytes.\r\n`]);
      if (e.fatal) {
        this.write(['* BYE Too much data.\r\n']);
        this.close();
      } else void this.flush();
    }
  }

  private readonly onEnd = () => this.destroy();
  private readonly onError = (err: Error) => {
    this.deps.log.debug({ err, conn: this.id }, 'imap socket error');
    this.destroy();
  };
  private readonly onTimeout = () => {
    if (this.closed) return;
    this.write(['* BYE Idle for too long; logging out.\r\n']);
    this.close();
  };

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
          const bytes = this.queue.shift()!;
          await dispatch(this.registry, this.session, bytes, (err, command) =>
            this.deps.log.error({ err, conn: this.id, command }, 'imap command failed'),
          );
          if (this.paused && this.queue.length < QUEUE_HIGH / 2) {
            this.paused = false;
            this.socket.resume();
          }
        }
      } catch (err) {
        this.deps.log.warn({ err, conn: this.id }, 'imap connection failed');
        this.destroy();
      } finally {
        this.busy = false;
      }
    })();
  }

  // ------------------------------------------------------------------------------ SessionIo

  write(parts: (string | Buffer)[]): void {
    if (this.closed) return;
    const out = this.out;
    for (const p of parts) {
      if (typeof p === 'string') out.text(p);
      else out.bytes(p);
    }
    if (out.size >= OUT_CHUNK) this.send();
  }

  /** Sends what is queued; `done`: nothing more is coming for now, so the output Buffer goes too. */
  private send(done = false): void {
    if (this.closed) return;
    const data = done ? this.out.reset() : this.out.take();
    if (data.length === 1) this.socket.write(data[0]!);
    else if (data.length > 1) {
      // One writev for the lot.
      this.socket.cork();
      for (const b of data) this.socket.write(b);
      this.socket.uncork();
    }
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

  readLine(): Promise<Buffer | null> {
    if (this.closed) return Promise.resolve(null);
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => (this.lineWaiter = resolve));
  }

  authenticated(): void {
    const max = this.options.maxMessageSize;
    this.framer.limits = { maxLine: MAX_LINE, maxLiteral: max, maxCommand: max + MAX_LINE };
    this.timeoutMs = this.options.authenticatedTimeoutMs;
    this.socket.setTimeout(this.timeoutMs);
  }

  beginTls(): () => Promise<void> {
    // Nothing the client sent before the handshake may be taken as a command after it.
    this.socket.pause();
    this.queue = [];
    this.framer.reset();
    return async () => {
      if (this.closed) return;
      const plain = this.socket;
      this.detach(plain);
      const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: this.options.secureContext });
      this.socket = secure;
      this.secure = true;
      await new Promise<void>((resolve) => {
        const fail = (err: Error) => {
          this.deps.log.debug({ err, conn: this.id }, 'imap STARTTLS handshake failed');
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

  /** The server is stopping: tell the client and close. */
  shutdown(): void {
    this.write(['* BYE The server is shutting down.\r\n']);
    this.close();
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
