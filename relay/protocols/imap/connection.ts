// The socket edge of an IMAP session: bytes in through the framer, one command at a time through
// the dispatcher, responses out with backpressure, STARTTLS, and the idle timeouts (60 s before
// login, 30 min after). The queueing, TLS upgrade and closing shared with POP3 are in
// ../line-connection.ts.
import type net from 'node:net';
import type tls from 'node:tls';
import type { FrameEvent } from './framer.ts';
import { Framer } from './framer.ts';
import { ResponseWriter } from './encoder.ts';
import { dispatch } from './registry.ts';
import type { Registry } from './registry.ts';
import { Session } from './session.ts';
import type { SessionDeps, SessionIo } from './session.ts';
import { LineConnection } from '../line-connection.ts';

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

export class Connection extends LineConnection<Buffer> implements SessionIo {
  readonly id = `imap-${++nextId}`;
  readonly session: Session;

  private framer: Framer;
  /** Output not yet sent: strings written into its Buffer, small Buffers copied, large ones kept. */
  private out = new ResponseWriter(OUT_CHUNK);

  constructor(
    socket: net.Socket,
    secure: boolean,
    private registry: Registry,
    deps: SessionDeps,
    private options: ConnectionOptions,
  ) {
    super(socket, secure, deps.log, {
      protocol: 'imap',
      startTls: 'STARTTLS',
      secureContext: options.secureContext,
      timeoutMs: options.unauthenticatedTimeoutMs,
      queueHigh: QUEUE_HIGH,
    });
    this.framer = new Framer({ maxLine: MAX_LINE, maxLiteral: UNAUTHENTICATED_LITERAL, maxCommand: UNAUTHENTICATED_LITERAL + MAX_LINE });
    this.session = new Session(deps, this);
  }

  protected greeting(): string {
    return `* OK [CAPABILITY ${this.session.capabilities().join(' ')}] Wisp IMAP ready\r\n`;
  }

  protected receive(chunk: Buffer): void {
    let events: FrameEvent[];
    try {
      events = this.framer.push(chunk);
    } catch (err) {
      this.log.error({ err, conn: this.id }, 'imap framing failed');
      return this.destroy();
    }
    for (const e of events) this.onFrame(e);
  }

  private onFrame(e: FrameEvent): void {
    if (e.type === 'command') this.deliver(e.bytes);
    else if (e.type === 'continue') {
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

  protected timedOut(): void {
    if (this.closed) return;
    this.write(['* BYE Idle for too long; logging out.\r\n']);
    this.close();
  }

  protected async run(bytes: Buffer): Promise<void> {
    await dispatch(this.registry, this.session, bytes, (err, command) =>
      this.log.error({ err, conn: this.id, command }, 'imap command failed'),
    );
  }

  protected resetInput(): void {
    this.framer.reset();
  }

  protected ended(): void {
    this.session.end();
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
  protected send(done = false): void {
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

  authenticated(): void {
    const max = this.options.maxMessageSize;
    this.framer.limits = { maxLine: MAX_LINE, maxLiteral: max, maxCommand: max + MAX_LINE };
    this.setIdleTimeout(this.options.authenticatedTimeoutMs);
  }

  /** The server is stopping: tell the client and close. */
  shutdown(): void {
    this.write(['* BYE The server is shutting down.\r\n']);
    this.close();
  }
}
