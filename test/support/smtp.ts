// A deliberately small SMTP client over a raw socket, for the conversations a polite client
// library will not have: garbage commands, huge lines, 8-bit headers, size overruns.
import net from 'node:net';
import { upgradeToTls } from './tls.ts';

export interface SmtpReply {
  code: number;
  /** Enhanced status code (RFC 3463) from the last line, e.g. "5.1.1", or null. */
  enhanced: string | null;
  lines: string[];
  text: string;
}

export class SmtpClosedError extends Error {}

export class SmtpSession {
  greeting!: SmtpReply;
  closed = false;
  private buf = '';
  private replies: SmtpReply[] = [];
  private waiter: { resolve: (r: SmtpReply) => void; reject: (e: Error) => void } | null = null;
  private socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  private attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => {
      this.closed = true;
      const w = this.waiter;
      this.waiter = null;
      w?.reject(new SmtpClosedError(`connection closed; unparsed: ${JSON.stringify(this.buf.slice(0, 200))}`));
    });
    socket.on('error', () => {
      /* surfaced through close */
    });
  }

  static async connect(port: number, host = '127.0.0.1', timeoutMs = 10_000): Promise<SmtpSession> {
    const socket = net.connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const s = new SmtpSession(socket);
    s.greeting = await s.read(timeoutMs);
    return s;
  }

  private onData(chunk: Buffer): void {
    this.buf += chunk.toString('latin1');
    for (;;) {
      // a reply is complete when a line "NNN " (or bare "NNN") ends it
      const lines: string[] = [];
      let pos = 0;
      let done = false;
      while (!done) {
        const nl = this.buf.indexOf('\n', pos);
        if (nl === -1) break;
        const line = this.buf.slice(pos, nl).replace(/\r$/, '');
        pos = nl + 1;
        lines.push(line);
        if (!/^\d{3}-/.test(line)) done = true;
      }
      if (!done) return;
      this.buf = this.buf.slice(pos);
      const last = lines[lines.length - 1] ?? '';
      const code = Number(last.slice(0, 3));
      const texts = lines.map((l) => l.slice(4));
      const m = /^([245]\.\d{1,3}\.\d{1,3})\b/.exec(last.slice(4));
      const reply: SmtpReply = { code: Number.isFinite(code) ? code : -1, enhanced: m ? (m[1] as string) : null, lines, text: texts.join('\n') };
      const w = this.waiter;
      if (w) {
        this.waiter = null;
        w.resolve(reply);
      } else this.replies.push(reply);
    }
  }

  /** The next reply from the server. */
  read(timeoutMs = 10_000): Promise<SmtpReply> {
    const r = this.replies.shift();
    if (r) return Promise.resolve(r);
    if (this.closed) return Promise.reject(new SmtpClosedError('connection closed'));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`no SMTP reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (x) => {
          clearTimeout(t);
          resolve(x);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      };
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  /** Sends one command line (CRLF added) and reads its reply. */
  async command(line: string | Buffer, timeoutMs = 10_000): Promise<SmtpReply> {
    this.write(Buffer.concat([typeof line === 'string' ? Buffer.from(line, 'utf8') : line, Buffer.from('\r\n')]));
    return this.read(timeoutMs);
  }

  /** EHLO, STARTTLS, EHLO again over TLS (self-signed certificates accepted). */
  async starttls(): Promise<SmtpReply> {
    const r = await this.command('STARTTLS');
    if (r.code !== 220) throw new Error(`STARTTLS refused: ${r.code} ${r.text}`);
    const secure = await upgradeToTls(this.socket, 'localhost');
    this.socket = secure;
    this.attach(secure);
    return this.command('EHLO client.test');
  }

  /**
   * MAIL, RCPT (each), DATA, the message (dot-stuffed, CRLF line ends) and the final dot.
   * Stops at the first refusal and returns all replies seen.
   */
  async deliver(
    from: string,
    to: string[],
    message: string | Buffer,
    timeoutMs = 30_000,
  ): Promise<{ mail: SmtpReply; rcpt: SmtpReply[]; data?: SmtpReply; final?: SmtpReply }> {
    const mail = await this.command(`MAIL FROM:<${from}>`);
    const rcpt: SmtpReply[] = [];
    if (mail.code !== 250) return { mail, rcpt };
    for (const r of to) rcpt.push(await this.command(`RCPT TO:<${r}>`));
    if (!rcpt.some((r) => r.code === 250 || r.code === 251)) return { mail, rcpt };
    const data = await this.command('DATA');
    if (data.code !== 354) return { mail, rcpt, data };
    this.write(dotStuff(message));
    this.write('.\r\n');
    const final = await this.read(timeoutMs);
    return { mail, rcpt, data, final };
  }

  async quit(): Promise<void> {
    if (this.closed) return;
    try {
      await this.command('QUIT', 3000);
    } catch {
      /* closed already */
    }
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** CRLF line ends, leading dots doubled, and a final CRLF. */
export function dotStuff(message: string | Buffer): Buffer {
  const text = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  const s = text.toString('latin1').replace(/\r?\n/g, '\r\n');
  const stuffed = s.replace(/(^|\r\n)\./g, '$1..');
  return Buffer.from(stuffed.endsWith('\r\n') ? stuffed : stuffed + '\r\n', 'latin1');
}

/** A plain RFC 5322 message. */
export function rfc822(opts: {
  from?: string;
  to: string;
  subject?: string | null;
  messageId?: string;
  body?: string;
  extraHeaders?: string[];
}): string {
  const h: string[] = [];
  h.push(`From: ${opts.from ?? 'Sender <sender@example.com>'}`);
  h.push(`To: ${opts.to}`);
  if (opts.subject !== null) h.push(`Subject: ${opts.subject ?? 'test'}`);
  h.push(`Date: ${new Date().toUTCString()}`);
  h.push(`Message-ID: <${opts.messageId ?? `${Date.now()}.${Math.random().toString(36).slice(2)}@example.com`}>`);
  h.push('MIME-Version: 1.0');
  h.push(...(opts.extraHeaders ?? ['Content-Type: text/plain; charset=utf-8']));
  return `${h.join('\r\n')}\r\n\r\n${opts.body ?? 'hello'}\r\n`;
}
