// The interfaces the core depends on. Storage backends (store/sqlite, later store/postgres) and the
// event bus implement them; nothing above this file may assume a particular database.

export interface User {
  id: number;
  name: string;
  createdAt: Date;
}

export interface UserListing extends User {
  aliasCount: number;
  messageCount: number;
}

export interface AliasRecord {
  id: number;
  userId: number;
  /** Full address, lowercase: local@domain. */
  address: string;
  site: string | null;
  label: string | null;
  active: boolean;
  createdAt: Date;
  expiresAt: Date | null;
  /** True once the address has passed its lifetime and its mail has been removed. */
  expired: boolean;
  messageCount: number;
  lastMessageAt: Date | null;
}

export interface NewAlias {
  userId: number;
  address: string;
  site: string | null;
  label: string | null;
  createdAt: Date;
  expiresAt: Date | null;
}

export interface AliasPatch {
  /** Only ever set on an address that has no site yet (a spare address handed to a site). */
  site?: string;
  label?: string | null;
  active?: boolean;
  /** Setting a new lifetime also revives an expired address. */
  expiresAt?: Date | null;
}

/** The summary fields a message is listed with; the body stays in `raw`. */
export interface MessageFields {
  from: string;
  subject: string;
  preview: string;
  code: string | null;
  link: string | null;
}

export interface NewMessage extends MessageFields {
  userId: number;
  aliasId: number;
  receivedAt: Date;
  /** The message exactly as received, with the relay's trace header prepended. */
  raw: Buffer;
  /** SMTP envelope sender ('' for the null sender). */
  mailFrom: string;
}

export interface MessageRecord extends MessageFields {
  id: number;
  userId: number;
  aliasId: number;
  alias: string;
  site: string | null;
  receivedAt: Date;
  size: number;
  seen: boolean;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null when this page is the last. */
  next: string | null;
}

export interface MessageQuery {
  aliasId?: number;
  /** Only messages received after this instant. */
  since?: Date;
  /** Continue a previous listing (newest first). */
  cursor?: string;
  limit: number;
}

/**
 * Which mail a mail-client session (IMAP, POP3) sees: all of a user's mail, or one address's alone.
 * Every mailbox method is scoped by it, so no session reaches beyond what it logged in to.
 */
export interface MailboxScope {
  userId: number;
  aliasId?: number;
}

/** What a mail client's view of a message needs, without its body. */
export interface MailboxEntry {
  /** The message id, which is also its IMAP UID. */
  id: number;
  aliasId: number;
  size: number;
  receivedAt: Date;
  /** IMAP flags: `\Seen` (the API's `seen`), the other system flags, then keywords. */
  flags: string[];
}

/** add: set these flags; remove: clear them; replace: make them the whole set. */
export type FlagMode = 'add' | 'remove' | 'replace';

export interface FlagUpdate {
  id: number;
  /** The message's flags after the update. */
  flags: string[];
  changed: boolean;
}

export interface MailboxStatus {
  messages: number;
  unseen: number;
  /**
   * Higher than every id the mailbox ever held, and raised by every arrival (even one expunged
   * since): the IMAP UIDNEXT.
   */
  uidNext: number;
}

/** A submitted message on its way out (SMTP submission → the outbound queue). */
export interface NewOutbound {
  userId: number;
  /** Envelope sender: one of the user's addresses. */
  mailFrom: string;
  /** One delivery job per group (a smarthost takes all, MX delivery one group per domain). */
  recipientGroups: string[][];
  /** The message as it goes out, DKIM signature included. */
  raw: Buffer;
  createdAt: Date;
}

/** One claimed delivery job: a message and the recipients still to reach with it. */
export interface OutboundJob {
  id: number;
  messageId: number;
  userId: number;
  mailFrom: string;
  recipients: string[];
  raw: Buffer;
  createdAt: Date;
  /** Attempts made, this one included. */
  attempts: number;
  lastError: string | null;
}

/**
 * How far the relay got in one upstream mailbox it pulls mail from (`--upstream`). UIDs are only
 * comparable under the same UIDVALIDITY: when the server changes it, the state starts over.
 */
export interface UpstreamState {
  uidValidity: number;
  /** Every message up to this UID is done: ingested, or left upstream as not for the relay. */
  lastUid: number;
  /**
   * A message whose ingest had begun when the state was written: after a crash it may or may not
   * be stored. `at` is the receivedAt it is ingested with, which finds it again.
   */
  pending: { uid: number; at: Date } | null;
}

export interface Store {
  /** Confirms the database answers; used by /healthz. */
  ping(): Promise<void>;
  close(): Promise<void>;

  createUser(name: string, createdAt: Date): Promise<User>;
  getUserByName(name: string): Promise<User | null>;
  getUserById(id: number): Promise<User | null>;
  listUsers(): Promise<UserListing[]>;
  countUsers(): Promise<number>;
  /** Removes the user with its tokens, addresses and mail. False when there was no such user. */
  deleteUser(name: string): Promise<boolean>;
  addToken(userId: number, tokenHash: string, createdAt: Date): Promise<void>;
  findUserByTokenHash(tokenHash: string): Promise<User | null>;

  /** Fails with AddressTakenError when the address exists already. */
  createAlias(alias: NewAlias): Promise<AliasRecord>;
  getAlias(address: string): Promise<AliasRecord | null>;
  getAliasById(id: number): Promise<AliasRecord | null>;
  /** The user's addresses, newest first. */
  listAliases(userId: number, page: { cursor?: string; limit: number }): Promise<Page<AliasRecord>>;
  updateAlias(id: number, patch: AliasPatch): Promise<AliasRecord | null>;
  /** Removes the address and its mail. */
  deleteAlias(id: number): Promise<boolean>;
  /** Addresses whose lifetime ended at or before `now` and that still hold their mail. */
  listDueForExpiry(now: Date, limit: number): Promise<AliasRecord[]>;
  /** Deletes the address's mail and marks it expired; returns the updated record. */
  expireAlias(id: number): Promise<AliasRecord | null>;
  /** The soonest lifetime end among addresses not yet expired, or null. */
  nextExpiry(): Promise<Date | null>;

  /**
   * Stores messages in one durable transaction and returns their ids in order. When the promise
   * resolves the messages are on disk: only then may SMTP answer 250.
   */
  saveMessages(messages: NewMessage[]): Promise<number[]>;
  getMessage(userId: number, id: number): Promise<MessageRecord | null>;
  getRaw(userId: number, id: number): Promise<Buffer | null>;
  /** Newest first. */
  listMessages(userId: number, query: MessageQuery): Promise<Page<MessageRecord>>;
  /** Oldest first: what a reconnecting client missed after message `afterId`. */
  listMessagesAfter(userId: number, afterId: number, limit: number): Promise<MessageRecord[]>;
  setSeen(userId: number, id: number, seen: boolean): Promise<MessageRecord | null>;
  deleteMessage(userId: number, id: number): Promise<boolean>;

  /** The scope's messages with an id above `afterId` (default 0), oldest first. */
  listMailbox(scope: MailboxScope, afterId?: number): Promise<MailboxEntry[]>;
  /** The entries of those of `ids` that are in the scope, in ascending id order. */
  getMailboxEntries(scope: MailboxScope, ids: number[]): Promise<MailboxEntry[]>;
  /** Raw bodies of those of `ids` that are in the scope; missing ids are absent from the map. */
  getRaws(scope: MailboxScope, ids: number[]): Promise<Map<number, Buffer>>;
  /**
   * The header blocks of those of `ids` in the scope, read without their bodies: each message's
   * bytes up to and including the blank line that ends its header (`headerBlockEnd` in
   * core/header.ts; the whole message when it has no body). Missing ids are absent from the map.
   */
  getHeaders(scope: MailboxScope, ids: number[]): Promise<Map<number, Buffer>>;
  /**
   * Changes the flags of those of `ids` in the scope in one transaction; `\Seen` is the API's
   * `seen`, `\Recent` is never stored. Returns each found message's flags afterwards.
   */
  updateFlags(scope: MailboxScope, ids: number[], mode: FlagMode, flags: string[]): Promise<FlagUpdate[]>;
  /** Deletes those of `ids` in the scope in one transaction; returns the ids that went. */
  expungeMessages(scope: MailboxScope, ids: number[]): Promise<number[]>;
  mailboxStatus(scope: MailboxScope): Promise<MailboxStatus>;

  /**
   * Queues a message for delivery, one job per recipient group, in one durable transaction: when
   * the promise resolves the message survives a crash, so submission may answer 250.
   */
  enqueueOutbound(message: NewOutbound): Promise<number>;
  /**
   * Takes up to `limit` jobs due at `now`, oldest due first, and leases them for `leaseMs`: a job
   * whose worker dies is due again when the lease ends. Counts the attempt.
   */
  claimOutbound(now: Date, leaseMs: number, limit: number): Promise<OutboundJob[]>;
  /** The job is done (delivered or given up); the message goes with its last job. */
  completeOutbound(jobId: number): Promise<void>;
  /** The job is tried again at `nextAttemptAt` with the recipients still to reach. */
  rescheduleOutbound(jobId: number, update: { recipients: string[]; nextAttemptAt: Date; lastError: string }): Promise<void>;
  /** When the soonest job is due (a leased one when its lease ends), or null when none is queued. */
  nextOutboundAttempt(): Promise<Date | null>;

  /** The saved progress of the upstream mailbox `key` (an upstream URL without its password), or null. */
  getUpstreamState(key: string): Promise<UpstreamState | null>;
  /** Saves the progress of the upstream mailbox `key` durably, replacing what was there. */
  setUpstreamState(key: string, state: UpstreamState): Promise<void>;
}

export class AddressTakenError extends Error {
  constructor(address: string) {
    super(`The address ${address} exists already.`);
    this.name = 'AddressTakenError';
  }
}

/** What happened, by id: consumers read the details from the Store. */
export type RelayEvent =
  | { type: 'message'; userId: number; messageId: number }
  | {
      type: 'alias';
      userId: number;
      event: 'created' | 'updated' | 'deleted' | 'expired';
      /** A deleted address is gone from the Store, so the event carries its last state. */
      alias: AliasRecord;
    }
  /** Flags (including the API's `seen`) of these messages changed. */
  | { type: 'flags'; userId: number; messageIds: number[] }
  /** These messages were deleted (IMAP EXPUNGE, MOVE, POP3 DELE, DELETE /api/messages/{id}). */
  | { type: 'expunge'; userId: number; messageIds: number[] }
  /**
   * Events of other relay nodes may have been missed (the bus's connection dropped and is back):
   * every consumer, for every user, reads the Store again from where it was.
   */
  | { type: 'resync' };

export interface Bus {
  publish(event: RelayEvent): void;
  /** Returns the function that unsubscribes. */
  subscribe(listener: (event: RelayEvent) => void): () => void;
  /** True for an event another relay node published (so counting it here would count it twice). */
  isRemote?(event: RelayEvent): boolean;
}

/**
 * Mutual exclusion among all relay nodes that share the Store, so background work runs once rather
 * than once per node. On one node (SQLite) it is an in-process mutex.
 */
export interface Locks {
  /** Runs `work` while holding `name`, waiting first while another node holds it. */
  withLock<T>(name: string, work: () => Promise<T>): Promise<T>;
  /**
   * Takes `name` for as long as this node keeps it (until release, or until the connection that
   * holds it is lost); null at once when another node holds it.
   */
  tryHold(name: string): Promise<HeldLock | null>;
}

export interface HeldLock {
  /** Settles when the lock is no longer held: released, or lost with its connection. */
  readonly lost: Promise<void>;
  release(): Promise<void>;
}
