// A receiving SMTP server on loopback that keeps what it is given, standing in for a recipient's
// MX or for a smarthost. It can ask for AUTH, refuse chosen recipients, and be started on a port
// picked in advance (so a relay can be pointed at it before it exists).
import net from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface SunkMessage {
  from: string;
  to: string[];
  raw: Buffer;
  /** Whether the sender had switched to TLS (STARTTLS) first. */
  secure: boolean;
  user: string | null;
  heloName: string;
}

export interface Sink {
  port: number;
  messages: SunkMessage[];
  /** Waits until `n` messages have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<SunkMessage[]>;
  close(): Promise<void>;
}

export interface SinkOptions {
  port?: number;
  /** Require AUTH with these credentials (offered without TLS: a loopback smarthost). */
  auth?: { user: string; pass: string };
  /** Offer STARTTLS (smtp-server's own test certificate). Default true unless auth is set. */
  starttls?: boolean;
  /** Recipients refused at RCPT with this reply code. */
  refuse?: (rcpt: string) => number | null;
}

/** A free loopback port, released at once so a server can take it later. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startSink(options: SinkOptions = {}): Promise<Sink> {
  const messages: SunkMessage[] = [];
  let wake: () => void = () => {};
  const starttls = options.starttls ?? !options.auth;
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: !options.auth,
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    disabledCommands: [...(starttls ? [] : ['STARTTLS']), ...(options.auth ? [] : ['AUTH'])],
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) return callback(null, { user: auth.username });
      callback(Object.assign(new Error('Invalid credentials'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      const code = options.refuse?.(address.address) ?? null;
      if (code) return callback(Object.assign(new Error(`${code >= 500 ? '5.1.1' : '4.2.1'} <${address.address}> refused by the sink`), { responseCode: code }));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          secure: session.secure,
          user: typeof session.user === 'string' ? session.user : null,
          heloName: session.hostNameAppearsAs,
        });
        wake();
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as net.AddressInfo).port;
  return {
    port,
    messages,
    async waitFor(n, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < n) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`the sink got ${messages.length} of ${n} messages within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 200));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      return messages;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
