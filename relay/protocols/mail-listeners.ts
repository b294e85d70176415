// The two listeners every mail protocol here has: plain (the client upgrades with STARTTLS / STLS)
// and implicit TLS, each bounded in connections, and the set of connections they hold open so the
// server can end them all when it stops.
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log.ts';

export interface ListenerOptions {
  key: Buffer;
  cert: Buffer;
  /** For each listener. */
  maxConnections: number;
}

interface Accepted {
  /** Told once the connection is gone. */
  onClose: () => void;
  start(): void;
}

export interface MailListeners<C> {
  plain: net.Server;
  secure: tls.Server;
  /** The connections still open. */
  connections: Set<C>;
}

/** `open` makes the protocol's connection; `tlsName` names the TLS port in logs (`imaps`). */
export function createMailListeners<C extends Accepted>(
  options: ListenerOptions,
  open: (socket: net.Socket, secure: boolean) => C,
  log: Logger,
  tlsName: string,
): MailListeners<C> {
  const connections = new Set<C>();

  const accept = (socket: net.Socket, secure: boolean) => {
    const conn = open(socket, secure);
    connections.add(conn);
    conn.onClose = () => connections.delete(conn);
    conn.start();
  };

  const plain = net.createServer((socket) => accept(socket, false));
  plain.maxConnections = options.maxConnections;
  const secure = tls.createServer({ key: options.key, cert: options.cert }, (socket) => accept(socket, true));
  secure.maxConnections = options.maxConnections;
  secure.on('tlsClientError', (err) => log.debug({ err }, `${tlsName} handshake failed`));

  return { plain, secure, connections };
}
