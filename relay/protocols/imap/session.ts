// One IMAP session's state machine over the Store: who is logged in, which mailbox is selected
// (with its view), and the live updates from the event bus. Sockets stay in connection.ts; the
// session talks to the client only through SessionIo.
import type { Ingest } from '../../core/ingest.ts';
import type { Bus, MailboxScope, RelayEvent, Store } from '../../core/ports.ts';
import type { MailLogins } from '../../core/mail-login.ts';
import type { Logger } from '../../log.ts';
import type { LineIo } from '../line-connection.ts';
import { flagList } from './encoder.ts';
import type { Login, MailboxRef } from './mailboxes.ts';
import type { MailboxView, ViewSource, ViewUpdate } from './tracker.ts';

export type State = 'not-authenticated' | 'authenticated' | 'selected' | 'logout';

export type Status = 'OK' | 'NO' | 'BAD';

/** A command's outcome: the tagged response, and what to do once it is on the wire. */
export interface Result {
  status: Status;
  /** A response code without brackets, e.g. `READ-WRITE` or `APPENDUID 7 42`. */
  code?: string;
  text: string;
  after?: () => Promise<void> | void;
}

export const ok = (text: string, code?: string): Result => ({ status: 'OK', text, ...(code ? { code } : {}) });
export const no = (text: string, code?: string): Result => ({ status: 'NO', text, ...(code ? { code } : {}) });
export const bad = (text: string, code?: string): Result => ({ status: 'BAD', text, ...(code ? { code } : {}) });

/** Thrown from deep inside a handler; the dispatcher turns it into the tagged response. */
export class ImapError extends Error {
  constructor(
    readonly status: 'NO' | 'BAD',
    text: string,
    readonly code?: string,
  ) {
    super(text);
    this.name = 'ImapError';
  }
}

/** The connection as the session sees it; a line read is the bytes of one command. */
export type SessionIo = LineIo<Buffer>;

export interface SessionDeps {
  store: Store;
  logins: MailLogins;
  bus: Bus;
  ingest: Ingest;
  log: Logger;
  maxMessageSize: number;
  /** Registers an authenticated session for the live updates of its user. */
  register(session: Session): () => void;
}

export interface Selected {
  ref: MailboxRef;
  readOnly: boolean;
  view: MailboxView;
}

export const BASE_CAPABILITIES = ['IMAP4rev1', 'LITERAL+', 'SASL-IR', 'ID', 'ENABLE', 'IDLE', 'NAMESPACE', 'UIDPLUS', 'MOVE', 'UNSELECT', 'CHILDREN'];

export class Session {
  state: State = 'not-authenticated';
  login: Login | null = null;
  selected: Selected | null = null;
  idling = false;
  private chain: Promise<void> = Promise.resolve();
  private unregister: (() => void) | null = null;

  constructor(
    readonly deps: SessionDeps,
    readonly io: SessionIo,
  ) {}

  /** LOGIN and AUTHENTICATE are refused on a plaintext connection that does not come from this machine. */
  get loginAllowed(): boolean {
    return this.io.secure || this.io.loopback;
  }

  capabilities(): string[] {
    const caps = [...BASE_CAPABILITIES];
    if (this.state === 'not-authenticated') {
      if (!this.io.secure) caps.push('STARTTLS');
      caps.push(this.loginAllowed ? 'AUTH=PLAIN' : 'LOGINDISABLED');
    } else {
      caps.push(`APPENDLIMIT=${this.deps.maxMessageSize}`);
    }
    return caps;
  }

  /** One untagged response line (a latin1 byte string, without CRLF). */
  untagged(line: string): void {
    this.io.write([`* ${line}\r\n`]);
  }

  loggedIn(login: Login): void {
    this.login = login;
    this.state = 'authenticated';
    this.io.authenticated();
    this.unregister = this.deps.register(this);
  }

  /** The login; handlers run only in states that have one. */
  get who(): Login {
    if (!this.login) throw new ImapError('BAD', 'Log in first.');
    return this.login;
  }

  get sel(): Selected {
    if (!this.selected) throw new ImapError('BAD', 'No mailbox is selected.');
    return this.selected;
  }

  select(selected: Selected | null): void {
    this.selected = selected;
    if (this.state !== 'logout') this.state = selected ? 'selected' : this.login ? 'authenticated' : 'not-authenticated';
  }

  /** Publishes a change this session made, for every other session and the API's listeners. */
  publish(event: RelayEvent): void {
    this.deps.bus.publish(event);
  }

  /** An event for this session's user. Cheap: the work happens when updates are announced. */
  notify(event: RelayEvent): void {
    const sel = this.selected;
    if (!sel) return;
    const view = sel.view;
    if (event.type === 'message') view.noteNewMail();
    else if (event.type === 'flags') view.noteFlags(event.messageIds);
    else if (event.type === 'expunge') view.noteExpunge(event.messageIds);
    else if (event.type === 'alias' && (event.event === 'deleted' || event.event === 'expired')) {
      if (sel.ref.alias === null || sel.ref.alias.id === event.alias.id) view.noteResync();
    } else if (event.type === 'resync') view.noteResync();
    if (this.idling) this.kick();
  }

  /** Announces pending updates now (while idling). */
  kick(): void {
    this.chain = this.chain.then(() => this.announce(true)).catch((err: unknown) => this.deps.log.error({ err, conn: this.io.id }, 'imap update failed'));
  }

  /** Announces pending updates, serialized with any other announcement in flight. */
  sync(allowExpunge: boolean): Promise<void> {
    const run = this.chain.then(() => this.announce(allowExpunge));
    // A failure is the caller's to handle; the chain itself stays usable.
    this.chain = run.catch(() => {});
    return run;
  }

  private async announce(allowExpunge: boolean): Promise<void> {
    const sel = this.selected;
    if (!sel || !sel.view.hasPending) return;
    const updates = await sel.view.sync(viewSource(this.deps.store, sel.ref.scope), allowExpunge);
    if (this.selected !== sel) return;
    for (const u of updates) this.writeUpdate(sel, u);
    await this.io.flush();
  }

  private writeUpdate(sel: Selected, u: ViewUpdate): void {
    switch (u.kind) {
      case 'expunge':
        return this.untagged(`${u.seq} EXPUNGE`);
      case 'exists':
        return this.untagged(`${u.count} EXISTS`);
      case 'recent':
        return this.untagged(`${u.count} RECENT`);
      case 'keywords':
        return this.untagged(`FLAGS ${flagList(mailboxFlags(sel.view))}`);
      case 'flags':
        return this.untagged(`${u.seq} FETCH (UID ${u.entry.uid} FLAGS ${flagList(sel.view.flagsOf(u.entry))})`);
    }
  }

  /** The connection is gone or logging out. */
  end(): void {
    this.state = 'logout';
    this.selected = null;
    this.unregister?.();
    this.unregister = null;
  }
}

/** The flags FLAGS lists for a mailbox: the system flags and every keyword in use. */
export function mailboxFlags(view: MailboxView): string[] {
  return ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft', ...view.keywords];
}

export function viewSource(store: Store, scope: MailboxScope): ViewSource {
  return {
    listAfter: (afterId) => store.listMailbox(scope, afterId),
    entries: (ids) => store.getMailboxEntries(scope, ids),
  };
}
