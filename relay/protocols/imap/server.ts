// The IMAP listeners (plain with STARTTLS, and implicit TLS) and the hub that hands each event of
// the bus to the sessions of its user.
import type net from 'node:net';
import tls from 'node:tls';
import type { Ingest } from '../../core/ingest.ts';
import type { Bus, Store } from '../../core/ports.ts';
import type { MailLogins } from '../../core/mail-login.ts';
import type { Logger } from '../../log.ts';
import { Connection } from './connection.ts';
import { createMailListeners } from '../mail-listeners.ts';
import { Registry } from './registry.ts';
import type { Session, SessionDeps } from './session.ts';
import { appendCommands } from './commands/append.ts';
import { authCommands } from './commands/auth.ts';
import { copyCommands } from './commands/copy.ts';
import { expungeCommands } from './commands/expunge.ts';
import { fetchCommands } from './commands/fetch.ts';
import { generalCommands } from './commands/general.ts';
import { idleCommands } from './commands/idle.ts';
import { mailboxCommands } from './commands/mailbox.ts';
import { searchCommands } from './commands/search.ts';
import { storeCommands } from './commands/store.ts';

export interface ImapDeps {
  store: Store;
  /** Checks logins; its throttle is shared with the other mail protocols. */
  logins: MailLogins;
  bus: Bus;
  ingest: Ingest;
  log: Logger;
}

export interface ImapOptions {
  key: Buffer;
  cert: Buffer;
  maxMessageSize: number;
  maxConnections: number;
  unauthenticatedTimeoutMs?: number;
  authenticatedTimeoutMs?: number;
}

export interface ImapServer {
  /** IMAP with STARTTLS (port 143). */
  plain: net.Server;
  /** IMAP over implicit TLS (port 993). */
  secure: tls.Server;
  /** Says BYE to every client and stops listening for events. */
  close(): void;
}

export function createRegistry(): Registry {
  return new Registry().add(
    ...generalCommands,
    ...authCommands,
    ...mailboxCommands,
    ...appendCommands,
    ...fetchCommands,
    ...searchCommands,
    ...storeCommands,
    ...copyCommands,
    ...expungeCommands,
    ...idleCommands,
  );
}

export function createImapServer(deps: ImapDeps, options: ImapOptions): ImapServer {
  const registry = createRegistry();
  const byUser = new Map<number, Set<Session>>();
  const secureContext = tls.createSecureContext({ key: options.key, cert: options.cert });

  const sessionDeps: SessionDeps = {
    ...deps,
    maxMessageSize: options.maxMessageSize,
    register(session) {
      const userId = session.who.user.id;
      const set = byUser.get(userId) ?? new Set();
      set.add(session);
      byUser.set(userId, set);
      return () => {
        set.delete(session);
        if (set.size === 0) byUser.delete(userId);
      };
    },
  };

  const unsubscribe = deps.bus.subscribe((event) => {
    // Missed events of other nodes: every selected mailbox is read again.
    const targets = event.type === 'resync' ? [...byUser.values()] : [byUser.get(event.userId)];
    for (const sessions of targets) for (const session of sessions ?? []) session.notify(event);
  });

  const { plain, secure, connections } = createMailListeners(
    options,
    (socket, secure) =>
      new Connection(socket, secure, registry, sessionDeps, {
        secureContext,
        maxMessageSize: options.maxMessageSize,
        unauthenticatedTimeoutMs: options.unauthenticatedTimeoutMs ?? 60_000,
        authenticatedTimeoutMs: options.authenticatedTimeoutMs ?? 30 * 60_000,
      }),
    deps.log,
    'imaps',
  );

  return {
    plain,
    secure,
    close() {
      unsubscribe();
      for (const conn of [...connections]) conn.shutdown();
    },
  };
}
