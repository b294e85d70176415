// One pass over an upstream mailbox: every message past the saved UID that is not marked yet goes
// through the one ingest pipeline (so the WebSocket push happens as for SMTP mail) and is then
// marked upstream. The connection is someone else's (puller.ts); this is the bookkeeping.
//
// Crash safety. Per message: save {pending: uid, at} → ingest (one durable commit) → save
// {lastUid: uid} → mark it upstream. A restart after the last save or the mark sees the UID as
// done; a restart between the first save and the second finds `pending` and looks for the copy
// by its receivedAt and its trace id before ingesting again; a restart before the first save
// finds nothing stored. So no message is stored twice and none is lost. When the server changes
// UIDVALIDITY the saved UID means nothing: the mailbox is scanned again and the marks decide.
import { createHash } from 'node:crypto';
import type { Logger } from '../../log.ts';
import type { Aliases } from '../aliases.ts';
import type { Ingest, Recipient } from '../ingest.ts';
import type { Store, UpstreamState } from '../ports.ts';
import { candidateRecipients, returnPath } from './recipients.ts';

/** Set on a message the relay ingested (with \Seen: it has been read, through Wisp). */
export const PULLED = '$WispPulled';
/** Set on a message for no address of the relay: looked at, left alone. */
export const SKIPPED = '$WispSkipped';

export interface UpstreamMessage {
  uid: number;
  flags: Set<string>;
  size: number;
}

/** What a sync needs of an open upstream mailbox. */
export interface UpstreamMailbox {
  readonly uidValidity: number;
  /** Whether the mailbox keeps keywords; without them \Seen is the only mark the relay leaves. */
  readonly keywords: boolean;
  /** The messages with a UID above `afterUid`, with their flags and sizes. */
  list(afterUid: number): Promise<UpstreamMessage[]>;
  /** The message as stored upstream (read without setting \Seen), or null when it is gone. */
  source(uid: number): Promise<Buffer | null>;
  addFlags(uid: number, flags: string[]): Promise<void>;
}

export interface SyncDeps {
  store: Store;
  ingest: Pick<Ingest, 'deliver'>;
  aliases: Pick<Aliases, 'checkRecipient'>;
  domains: string[];
  maxMessageSize: number;
  /** Names the relay in the Received line it adds. */
  hostname: string;
  log: Logger;
  now?: () => Date;
}

export interface SyncResult {
  pulled: number;
  skipped: number;
}

const printable = (s: string) => s.replace(/[^\x21-\x7e]/g, '').slice(0, 255) || 'unknown';

const has = (flags: Set<string>, flag: string) => {
  const lower = flag.toLowerCase();
  for (const f of flags) if (f.toLowerCase() === lower) return true;
  return false;
};

export class UpstreamSync {
  /** Distinguishes this upstream's trace ids from another's with the same UIDs. */
  private readonly keyHash: string;

  constructor(
    /** The upstream's label (its URL without the password): the Store key. */
    private readonly key: string,
    /** Named in the Received line. */
    private readonly host: string,
    private readonly deps: SyncDeps,
  ) {
    this.keyHash = createHash('sha256').update(key).digest('hex').slice(0, 8);
  }

  /** Takes in what is new in `mailbox`; throws (leaving the saved state consistent) when the connection or the store fails. */
  async run(mailbox: UpstreamMailbox, stopping: () => boolean = () => false): Promise<SyncResult> {
    const { store, log } = this.deps;
    const result: SyncResult = { pulled: 0, skipped: 0 };
    let state = await store.getUpstreamState(this.key);
    // Without a usable UID mark, which messages are done is read from the marks alone.
    let rescan = false;
    if (!state || state.uidValidity !== mailbox.uidValidity) {
      if (state) {
        log.warn({ upstream: this.key, was: state.uidValidity, now: mailbox.uidValidity }, 'upstream UIDVALIDITY changed: scanning the mailbox again');
      }
      state = { uidValidity: mailbox.uidValidity, lastUid: 0, pending: null };
      rescan = true;
    }
    let unsaved = false;
    const save = async (next: UpstreamState) => {
      state = next;
      await store.setUpstreamState(this.key, next);
      unsaved = false;
    };
    try {
      for (const message of await mailbox.list(state.lastUid)) {
        if (stopping()) break;
        const { uid } = message;
        // `n:*` always matches the newest message, even below n.
        if (uid <= state.lastUid) continue;
        const marked = mailbox.keywords ? has(message.flags, PULLED) || has(message.flags, SKIPPED) : rescan && has(message.flags, '\\Seen');
        if (marked) {
          state = { ...state, lastUid: uid, pending: state.pending?.uid === uid ? null : state.pending };
          unsaved = true;
          continue;
        }
        if (message.size > this.deps.maxMessageSize) {
          log.warn({ upstream: this.key, uid, size: message.size }, 'upstream message over --max-message-size: left upstream');
          await this.skip(mailbox, uid, state, save);
          result.skipped++;
          continue;
        }
        const raw = await mailbox.source(uid);
        const recipients = raw ? await this.recipientsOf(raw) : [];
        if (!raw || recipients.length === 0) {
          if (raw) log.debug({ upstream: this.key, uid }, 'upstream message is for no address here: left upstream');
          await this.skip(mailbox, uid, state, save);
          result.skipped++;
          continue;
        }
        const pending = state.pending;
        if (pending?.uid === uid && (await this.storedBefore(recipients, pending.at, this.traceId(state.uidValidity, uid)))) {
          log.info({ upstream: this.key, uid }, 'upstream message was stored before a restart: not ingested again');
        } else {
          const at = new Date((this.deps.now ?? (() => new Date()))().getTime());
          await save({ ...state, pending: { uid, at } });
          await this.deps.ingest.deliver({
            raw: Buffer.concat([Buffer.from(this.trace(state.uidValidity, uid, at), 'latin1'), raw]),
            mailFrom: returnPath(raw),
            recipients,
            receivedAt: at,
          });
          log.debug({ upstream: this.key, uid, recipients: recipients.length }, 'upstream message pulled');
        }
        await save({ uidValidity: state.uidValidity, lastUid: uid, pending: null });
        await this.mark(mailbox, uid, mailbox.keywords ? [PULLED, '\\Seen'] : ['\\Seen']);
        result.pulled++;
      }
    } finally {
      // Marked messages passed over: not worth a write each, but worth keeping.
      if (unsaved) await store.setUpstreamState(this.key, state);
    }
    return result;
  }

  private async skip(mailbox: UpstreamMailbox, uid: number, state: UpstreamState, save: (s: UpstreamState) => Promise<void>): Promise<void> {
    await save({ uidValidity: state.uidValidity, lastUid: uid, pending: null });
    if (mailbox.keywords) await this.mark(mailbox, uid, [SKIPPED]);
  }

  /** The mark is a courtesy once the UID is saved: a refusal is logged, not fatal. */
  private async mark(mailbox: UpstreamMailbox, uid: number, flags: string[]): Promise<void> {
    try {
      await mailbox.addFlags(uid, flags);
    } catch (err) {
      this.deps.log.warn({ upstream: this.key, uid, reason: (err as Error).message }, 'could not mark the upstream message');
    }
  }

  /** The relay's addresses the message is for, each once; inactive and expired ones are left out. */
  private async recipientsOf(raw: Buffer): Promise<Recipient[]> {
    const out = new Map<number, Recipient>();
    for (const address of candidateRecipients(raw, this.deps.domains)) {
      const verdict = await this.deps.aliases.checkRecipient(address);
      if (verdict.ok) out.set(verdict.alias.id, { id: verdict.alias.id, userId: verdict.alias.userId });
    }
    return [...out.values()];
  }

  private traceId(uidValidity: number, uid: number): string {
    return `${this.keyHash}.${uidValidity}.${uid}`;
  }

  private trace(uidValidity: number, uid: number, at: Date): string {
    const date = at.toUTCString().replace('GMT', '+0000');
    return `Received: from ${printable(this.host)}\r\n\tby ${printable(this.deps.hostname)} (Wisp) with IMAP id ${this.traceId(uidValidity, uid)};\r\n\t${date}\r\n`;
  }

  /** Whether a copy ingested at `at` with this trace id is in the store (its ingest committed before a crash). */
  private async storedBefore(recipients: Recipient[], at: Date, traceId: string): Promise<boolean> {
    const marker = Buffer.from(` id ${traceId};`, 'latin1');
    for (const r of recipients) {
      const page = await this.deps.store.listMessages(r.userId, { aliasId: r.id, since: new Date(at.getTime() - 1), limit: 200 });
      for (const m of page.items) {
        if (m.receivedAt.getTime() !== at.getTime()) continue;
        const raw = await this.deps.store.getRaw(r.userId, m.id);
        if (raw?.subarray(0, 2048).includes(marker)) return true;
      }
    }
    return false;
  }
}
