// One POP3 session's state machine over the Store (RFC 1939 §3): AUTHORIZATION → TRANSACTION →
// UPDATE. The maildrop is fixed at login: message numbers, sizes and UIDs stay as they were then,
// deletions are only marked until QUIT, and a connection that drops changes nothing. Sockets stay
// in connection.ts; the session talks to the client only through SessionIo.
import type { Bus, MailboxScope, Store } from '../../core/ports.ts';
import type { MailLogin, MailLogins } from '../../core/mail-login.ts';
import { scopeOf } from '../../core/mail-login.ts';
import type { Logger } from '../../log.ts';
import type { LineIo } from '../line-connection.ts';

export type State = 'authorization' | 'transaction' | 'update';

/** The connection as the session sees it; a line longer than the limit reads as 'too-long'. */
export type SessionIo = LineIo<Buffer | 'too-long'>;

/** One session per maildrop (RFC 1939 §8): the second gets `-ERR [IN-USE]`. */
export class MaildropLocks {
  private held = new Set<string>();

  /** The function that releases the lock, or null when another session holds it. */
  acquire(scope: MailboxScope): (() => void) | null {
    const key = scope.aliasId === undefined ? `user:${scope.userId}` : `alias:${scope.aliasId}`;
    if (this.held.has(key)) return null;
    this.held.add(key);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held.delete(key);
    };
  }
}

export interface SessionDeps {
  store: Store;
  bus: Bus;
  logins: MailLogins;
  locks: MaildropLocks;
  log: Logger;
}

/** A command's outcome: the status line, an optional multi-line body, and what to do once sent. */
export interface Reply {
  ok: boolean;
  text: string;
  /** An RFC 2449 response code without brackets, e.g. `IN-USE`, `AUTH`, `SYS/TEMP`. */
  code?: string;
  /** A multi-line response: lines without CRLF (none may begin with "."), or one stuffed body. */
  lines?: string[];
  body?: Buffer;
  after?: () => Promise<void> | void;
}

export const ok = (text: string, extra: Omit<Reply, 'ok' | 'text'> = {}): Reply => ({ ok: true, text, ...extra });
export const err = (text: string, code?: string): Reply => ({ ok: false, text, ...(code ? { code } : {}) });

export interface MaildropMessage {
  id: number;
  size: number;
}

export interface Maildrop {
  scope: MailboxScope;
  /** Message n is messages[n - 1], oldest first, as it was at login. */
  messages: MaildropMessage[];
  /** Message numbers marked by DELE. */
  deleted: Set<number>;
  /** Message numbers sent whole by RETR: marked \Seen at QUIT. */
  retrieved: Set<number>;
  release: () => void;
}

/** Failed logins one connection may make before it is closed. */
export const MAX_LOGIN_FAILURES = 5;

export class Session {
  state: State = 'authorization';
  who: MailLogin | null = null;
  maildrop: Maildrop | null = null;
  /** The name given by USER, waiting for PASS. */
  pendingUser: string | null = null;
  loginFailures = 0;

  constructor(
    readonly deps: SessionDeps,
    readonly io: SessionIo,
  ) {}

  /** USER/PASS and AUTH PLAIN send the token in the clear unless TLS is on or the client is local. */
  get loginAllowed(): boolean {
    return this.io.secure || this.io.loopback;
  }

  /** Checks the credentials, locks and opens the maildrop; the reply to PASS or AUTH. */
  async logIn(login: string, token: string): Promise<Reply> {
    const { logins, locks, store, log } = this.deps;
    const outcome = await logins.check(login, token, this.io.remoteAddress);
    if (!outcome.ok) {
      if (outcome.reason === 'blocked') {
        return { ...err(`Too many failed logins from your address; try again in ${outcome.retryAfter} seconds.`, 'SYS/TEMP'), after: () => this.io.close() };
      }
      this.loginFailures++;
      log.info({ conn: this.io.id, login: login.slice(0, 100), remote: this.io.remoteAddress }, 'pop3 login failed');
      const reply = err('Invalid login or token.', 'AUTH');
      return this.loginFailures >= MAX_LOGIN_FAILURES ? { ...reply, after: () => this.io.close() } : reply;
    }
    const scope = scopeOf(outcome.login);
    const release = locks.acquire(scope);
    if (!release) return err('Another session has this maildrop open; try again when it has ended.', 'IN-USE');
    try {
      const entries = await store.listMailbox(scope);
      this.maildrop = {
        scope,
        messages: entries.map((e) => ({ id: e.id, size: e.size })),
        deleted: new Set(),
        retrieved: new Set(),
        release,
      };
    } catch (error) {
      release();
      throw error;
    }
    this.who = outcome.login;
    this.state = 'transaction';
    this.pendingUser = null;
    this.io.authenticated();
    log.info({ conn: this.io.id, user: outcome.login.user.name, address: outcome.login.alias?.address, messages: this.maildrop.messages.length }, 'pop3 login');
    const { count, octets } = this.totals();
    return ok(`${count} messages (${octets} octets)`);
  }

  /** Messages not marked deleted, and their size. */
  totals(): { count: number; octets: number } {
    let count = 0;
    let octets = 0;
    this.maildrop?.messages.forEach((m, i) => {
      if (this.maildrop?.deleted.has(i + 1)) return;
      count++;
      octets += m.size;
    });
    return { count, octets };
  }

  /** QUIT in TRANSACTION: the UPDATE state. Deletes what DELE marked and marks retrieved mail seen. */
  async update(): Promise<Reply> {
    this.state = 'update';
    const drop = this.maildrop;
    if (!drop || !this.who) return ok('Bye');
    const { store, bus, log } = this.deps;
    const userId = this.who.user.id;
    const idsOf = (numbers: Iterable<number>) => [...numbers].map((n) => drop.messages[n - 1]?.id).filter((id): id is number => id !== undefined);
    try {
      const seen = idsOf([...drop.retrieved].filter((n) => !drop.deleted.has(n)));
      if (seen.length > 0) {
        const changed = (await store.updateFlags(drop.scope, seen, 'add', ['\\Seen'])).filter((u) => u.changed).map((u) => u.id);
        if (changed.length > 0) bus.publish({ type: 'flags', userId, messageIds: changed });
      }
      const wanted = idsOf(drop.deleted);
      const gone = wanted.length > 0 ? await store.expungeMessages(drop.scope, wanted) : [];
      if (gone.length > 0) bus.publish({ type: 'expunge', userId, messageIds: gone });
      log.info({ conn: this.io.id, user: this.who.user.name, deleted: gone.length }, 'pop3 update');
      const left = drop.messages.length - drop.deleted.size;
      return ok(`Bye: ${gone.length} deleted, ${left} left`);
    } catch (error) {
      log.error({ err: error, conn: this.io.id }, 'pop3 update failed');
      return err('Some deleted messages could not be removed; they are still there.', 'SYS/TEMP');
    } finally {
      this.end();
    }
  }

  /** The connection is over, however it ended: the maildrop is unlocked and nothing is deleted. */
  end(): void {
    this.maildrop?.release();
  }
}
