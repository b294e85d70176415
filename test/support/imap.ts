// A bare IMAP client over a raw socket, for transcript tests: send exact bytes, read response lines
// (literals included as they come), await a tagged completion. No parsing beyond lines.
import net from 'node:net';
import tls from 'node:tls';
import { upgradeToTls } from './tls.ts';

export interface Completion {
  /** Every line received for the command, untagged ones and literal data included, tagged last. */
  lines: string[];
  /** The tagged line, e.g. `a1 OK [READ-WRITE] SELECT completed`. */
  tagged: string;
  /** `OK`, `NO` or `BAD`. */
  status: string;
  /** The received bytes as one string. */
  text: string;
}

export class ImapWire {
  greeting = '';
  private buffer = '';
  private waiters: { test: () => boolean; resolve: () => void }[] = [];
  private ended = false;
  /** Everything received, as latin1 text. */
  received = '';

  private constructor(private socket: net.Socket) {
    this.attach(socket);
  }

  private attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => {
      const s = chunk.toString('latin1');
      this.buffer += s;
      this.received += s;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  private wake(): void {
    for (const w of [...this.waiters]) {
      if (w.test() || this.ended) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  static async connect(port: number, opts: { tls?: boolean } = {}): Promise<ImapWire> {
    const socket = opts.tls
      ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false })
      : net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    const wire = new ImapWire(socket);
    wire.greeting = await wire.line();
    return wire;
  }

  get closed(): boolean {
    return this.ended;
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Waits until the buffer holds text matching `re`; returns and consumes everything up to the match's end. */
  async until(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const find = () => re.exec(this.buffer);
    if (!find()) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i !== -1) this.waiters.splice(i, 1);
          reject(new Error(`no ${re} within ${timeoutMs} ms; received so far:\n${this.received.slice(-3000)}`));
        }, timeoutMs);
        const waiter = {
          test: () => Boolean(find()),
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        };
        this.waiters.push(waiter);
      });
    }
    const m = find();
    if (!m) throw new Error(`connection closed before ${re}; received:\n${this.received.slice(-3000)}`);
    const end = m.index + m[0].length;
    const out = this.buffer.slice(0, end);
    this.buffer = this.buffer.slice(end);
    return out;
  }

  /** The next whole line, without CRLF. */
  async line(timeoutMs?: number): Promise<string> {
    return (await this.until(/\r\n/, timeoutMs)).replace(/\r\n$/, '');
  }

  /** Sends `tag command` and reads to its tagged completion. */
  async command(tag: string, command: string | Buffer, timeoutMs?: number): Promise<Completion> {
    this.send(Buffer.concat([Buffer.from(`${tag} `, 'latin1'), typeof command === 'string' ? Buffer.from(command, 'latin1') : command, Buffer.from('\r\n')]));
    return this.completion(tag, timeoutMs);
  }

  /** Reads to the tagged completion of `tag`. */
  async completion(tag: string, timeoutMs?: number): Promise<Completion> {
    const escaped = tag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const text = await this.until(new RegExp(`(^|\\r\\n)${escaped} (OK|NO|BAD)[^\\r\\n]*\\r\\n`), timeoutMs);
    const lines = text.replace(/\r\n$/, '').split('\r\n');
    const tagged = lines.at(-1)!;
    return { lines, tagged, status: tagged.split(' ')[1]!, text };
  }

  /** Upgrades after the server's OK to STARTTLS. */
  async startTls(): Promise<void> {
    const secure = await upgradeToTls(this.socket);
    this.socket = secure;
    this.attach(secure);
  }

  close(): void {
    this.socket.destroy();
  }
}
