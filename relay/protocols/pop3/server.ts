// The POP3 listeners: plain with STLS (port 110) and implicit TLS (port 995).
import type net from 'node:net';
import tls from 'node:tls';
import type { Bus, Store } from '../../core/ports.ts';
import type { MailLogins } from '../../core/mail-login.ts';
import type { Logger } from '../../log.ts';
import { Connection } from './connection.ts';
import { createMailListeners } from '../mail-listeners.ts';
import { MaildropLocks } from './session.ts';
import type { SessionDeps } from './session.ts';

export interface Pop3Deps {
  store: Store;
  bus: Bus;
  logins: MailLogins;
  log: Logger;
}

export interface Pop3Options {
  key: Buffer;
  cert: Buffer;
  maxConnections: number;
  /** Default 60 s. */
  unauthenticatedTimeoutMs?: number;
  /** Default 10 minutes, the least RFC 1939 allows. */
  idleTimeoutMs?: number;
}

export interface Pop3Server {
  plain: net.Server;
  secure: tls.Server;
  /** Drops every session (deleting nothing) so the listeners can close. */
  close(): void;
}

export function createPop3Server(deps: Pop3Deps, options: Pop3Options): Pop3Server {
  const secureContext = tls.createSecureContext({ key: options.key, cert: options.cert });
  const sessionDeps: SessionDeps = { ...deps, locks: new MaildropLocks() };
  const connectionOptions = {
    secureContext,
    unauthenticatedTimeoutMs: options.unauthenticatedTimeoutMs ?? 60_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 10 * 60_000,
  };

  const { plain, secure, connections } = createMailListeners(
    options,
    (socket, secure) => new Connection(socket, secure, sessionDeps, connectionOptions),
    deps.log,
    'pop3s',
  );

  return {
    plain,
    secure,
    close() {
      for (const conn of [...connections]) conn.shutdown();
    },
  };
}
