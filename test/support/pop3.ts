// A deliberately small POP3 client over a raw socket, for the conversations a client library will
// not have: wrong states, long lines, garbage, pipelining, a connection dropped mid-session.
import net from 'node:net';
import tls from 'node:tls';
import { upgradeToTls } from './tls.ts';

export class Pop3Session {
  greeting = '';
  closed = false;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  private attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {
      /* surfaced through close */
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  static async connect(port: number, opts: { tls?: boolean; host?: string } = {}): Promise<Pop3Session> {
    const host = opts.host ?? '127.0.0.1';
    const socket = opts.tls ? tls.connect({ port, host, rejectUnauthorized: false }) : net.connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    const s = new Pop3Session(socket);
    s.greeting = await s.line();
    return s;
  }

  /** Waits until `test` finds what it needs in the buffer; it returns how many bytes it used. */
  private async take<T>(test: (buf: Buffer) => { used: number; value: T } | null, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = test(this.buf);
      if (found) {
        this.buf = this.buf.subarray(found.used);
        return found.value;
      }
      if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms; unread: ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The next line, without CRLF. */
  line(timeoutMs = 10_000): Promise<string> {
    return this.take((buf) => {
      const i = buf.indexOf('\r\n');
      return i === -1 ? null : { used: i + 2, value: buf.subarray(0, i).toString('latin1') };
    }, timeoutMs);
  }

  /** The body of a multi-line response up to its ".\r\n", still dot-stuffed, as raw bytes. */
  body(timeoutMs = 10_000): Promise<Buffer> {
    return this.take((buf) => {
      if (buf.subarray(0, 3).equals(Buffer.from('.\r\n'))) return { used: 3, value: Buffer.alloc(0) };
      const i = buf.indexOf('\r\n.\r\n');
      return i === -1 ? null : { used: i + 5, value: buf.subarray(0, i + 2) };
    }, timeoutMs);
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Sends a command line and reads its status line. */
  async command(line: string, timeoutMs = 10_000): Promise<string> {
    this.write(`${line}\r\n`);
    return this.line(timeoutMs);
  }

  /** A command with a multi-line answer: the status line and, when +OK, the unstuffed body. */
  async multi(line: string): Promise<{ status: string; body: Buffer | null }> {
    const status = await this.command(line);
    if (!status.startsWith('+OK')) return { status, body: null };
    return { status, body: unstuff(await this.body()) };
  }

  async login(user: string, token: string): Promise<string> {
    const u = await this.command(`USER ${user}`);
    if (!u.startsWith('+OK')) return u;
    return this.command(`PASS ${token}`);
  }

  async stls(): Promise<void> {
    const r = await this.command('STLS');
    if (!r.startsWith('+OK')) throw new Error(`STLS refused: ${r}`);
    const secure = await upgradeToTls(this.socket, 'localhost');
    this.socket = secure;
    this.attach(secure);
  }

  /** Resolves once the server has closed the connection. */
  async waitClosed(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('the server did not close the connection');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Drops the connection without QUIT. */
  destroy(): void {
    this.socket.destroy();
  }
}

/** Undoes dot-stuffing: a leading ".." becomes ".". */
export function unstuff(body: Buffer): Buffer {
  const text = body.toString('latin1').replace(/(^|\r\n)\.\./g, '$1.');
  return Buffer.from(text, 'latin1');
}
