// One session's view of its selected mailbox: sequence numbers ↔ UIDs, flags, and the changes that
// other sessions, the API and new mail made but this client has not been told of yet. The view
// changes only when the session announces a change, so sequence numbers always mean what the client
// believes they mean (RFC 3501 §7.4.1).
import type { MailboxEntry } from '../../core/ports.ts';
import type { SequenceSet } from './ast.ts';

export interface ViewEntry {
  uid: number;
  aliasId: number;
  size: number;
  receivedAt: Date;
  flags: string[];
  /** Arrived while this session had the mailbox selected (this session's \Recent). */
  recent: boolean;
}

export type ViewUpdate =
  | { kind: 'expunge'; seq: number }
  | { kind: 'exists'; count: number }
  | { kind: 'recent'; count: number }
  | { kind: 'flags'; seq: number; entry: ViewEntry }
  | { kind: 'keywords' };

/** Reads what the view needs from the Store (already scoped to the mailbox). */
export interface ViewSource {
  listAfter(afterId: number): Promise<MailboxEntry[]>;
  entries(ids: number[]): Promise<MailboxEntry[]>;
}

const toView = (e: MailboxEntry, recent: boolean): ViewEntry => ({ uid: e.id, aliasId: e.aliasId, size: e.size, receivedAt: e.receivedAt, flags: e.flags, recent });

const sameFlags = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((f, i) => f === b[i]);

export class MailboxView {
  private uids: number[] = [];
  private byUid = new Map<number, ViewEntry>();
  /** Keywords in use, announced in FLAGS. */
  readonly keywords = new Set<string>();
  private keywordsGrew = false;
  /** The highest UID this view ever held: anything above it is new. */
  lastUid = 0;

  private newMail = false;
  private resync = false;
  private flagIds = new Set<number>();
  private expunged = new Set<number>();

  constructor(entries: MailboxEntry[]) {
    for (const e of entries) this.append(toView(e, false));
    this.keywordsGrew = false;
  }

  get exists(): number {
    return this.uids.length;
  }

  get recentCount(): number {
    let n = 0;
    for (const e of this.byUid.values()) if (e.recent) n++;
    return n;
  }

  allUids(): readonly number[] {
    return this.uids;
  }

  entry(uid: number): ViewEntry | undefined {
    return this.byUid.get(uid);
  }

  /** 1-based sequence number of a UID, or 0. */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.uids[mid]!;
      if (v === uid) return mid + 1;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** The flags a FETCH shows: the stored ones, and \Recent for this session's new mail. */
  flagsOf(entry: ViewEntry): string[] {
    return entry.recent ? [...entry.flags, '\\Recent'] : entry.flags;
  }

  /** The UIDs a sequence set names (message numbers, or UIDs with `uid`), ascending, existing only. */
  resolve(set: SequenceSet, uid: boolean): number[] {
    const n = this.uids.length;
    if (n === 0) return [];
    const picked = new Set<number>();
    const maxUid = this.uids[n - 1]!;
    for (const range of set) {
      if (uid) {
        const a = range.from === '*' ? maxUid : range.from;
        const b = range.to === '*' ? maxUid : range.to;
        const lo = Math.min(a, b);
        const hi = Math.max(a, b);
        for (let i = this.lowerBound(lo); i < n && this.uids[i]! <= hi; i++) picked.add(this.uids[i]!);
      } else {
        const a = range.from === '*' ? n : range.from;
        const b = range.to === '*' ? n : range.to;
        const lo = Math.max(1, Math.min(a, b));
        const hi = Math.min(n, Math.max(a, b));
        for (let s = lo; s <= hi; s++) picked.add(this.uids[s - 1]!);
      }
    }
    return [...picked].sort((x, y) => x - y);
  }

  private lowerBound(value: number): number {
    let lo = 0;
    let hi = this.uids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.uids[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private append(e: ViewEntry): void {
    if (e.uid <= this.lastUid) return;
    this.uids.push(e.uid);
    this.byUid.set(e.uid, e);
    this.lastUid = e.uid;
    this.noteKeywords(e.flags);
  }

  private noteKeywords(flags: readonly string[]): void {
    for (const f of flags) {
      if (f.startsWith('\\') || this.keywords.has(f)) continue;
      this.keywords.add(f);
      this.keywordsGrew = true;
    }
  }

  /** This session changed a message's flags itself (and told its client). */
  setFlags(uid: number, flags: string[]): void {
    const e = this.byUid.get(uid);
    if (!e) return;
    e.flags = flags;
    this.noteKeywords(flags);
  }

  /** This session expunged a message itself; returns the sequence number it had (0: not here). */
  remove(uid: number): number {
    const seq = this.seqOf(uid);
    if (seq === 0) return 0;
    this.uids.splice(seq - 1, 1);
    this.byUid.delete(uid);
    this.expunged.delete(uid);
    this.flagIds.delete(uid);
    return seq;
  }

  // Notes from the event bus: cheap, synchronous; the work happens in sync().
  noteNewMail(): void {
    this.newMail = true;
  }

  noteFlags(ids: readonly number[]): void {
    for (const id of ids) if (this.byUid.has(id)) this.flagIds.add(id);
  }

  noteExpunge(ids: readonly number[]): void {
    for (const id of ids) if (this.byUid.has(id)) this.expunged.add(id);
  }

  /** Something changed that events do not describe one by one (an address deleted or expired). */
  noteResync(): void {
    this.resync = true;
  }

  get hasPending(): boolean {
    return this.newMail || this.resync || this.flagIds.size > 0 || this.expunged.size > 0 || this.keywordsGrew;
  }

  /** Expunges seen elsewhere that this client has not been told of yet. */
  get pendingExpunges(): number {
    return this.expunged.size;
  }

  /** A UID expunged elsewhere, still in the client's view until announced. */
  isExpunged(uid: number): boolean {
    return this.expunged.has(uid);
  }

  /**
   * Reads what changed and applies it, returning the updates to announce, in order: expunges
   * (only when `allowExpunge`), then EXISTS/RECENT, FLAGS, and flag changes.
   */
  async sync(source: ViewSource, allowExpunge: boolean): Promise<ViewUpdate[]> {
    let fresh: MailboxEntry[] = [];
    const changed = new Set<number>();
    if (this.resync) {
      this.resync = false;
      this.newMail = false;
      this.flagIds.clear();
      const all = await source.listAfter(0);
      const present = new Set<number>();
      for (const e of all) {
        present.add(e.id);
        const mine = this.byUid.get(e.id);
        if (mine && !sameFlags(mine.flags, e.flags)) {
          mine.flags = e.flags;
          this.noteKeywords(e.flags);
          changed.add(e.id);
        } else if (!mine && e.id > this.lastUid) fresh.push(e);
      }
      for (const uid of this.uids) if (!present.has(uid)) this.expunged.add(uid);
    } else {
      if (this.newMail) {
        this.newMail = false;
        fresh = await source.listAfter(this.lastUid);
      }
      if (this.flagIds.size > 0) {
        const ids = [...this.flagIds];
        this.flagIds.clear();
        const found = new Map((await source.entries(ids)).map((e) => [e.id, e]));
        for (const id of ids) {
          const mine = this.byUid.get(id);
          const now = found.get(id);
          if (!mine) continue;
          if (!now) {
            // Gone from the store: its expunge event is on its way, or was missed.
            this.expunged.add(id);
          } else if (!sameFlags(mine.flags, now.flags)) {
            mine.flags = now.flags;
            this.noteKeywords(now.flags);
            changed.add(id);
          }
        }
      }
    }

    const updates: ViewUpdate[] = [];
    if (allowExpunge && this.expunged.size > 0) {
      // Highest first, so each number is still the one the client knows.
      const seqs = [...this.expunged].map((uid) => this.seqOf(uid)).filter((s) => s > 0).sort((a, b) => b - a);
      for (const seq of seqs) {
        const uid = this.uids[seq - 1]!;
        this.uids.splice(seq - 1, 1);
        this.byUid.delete(uid);
        changed.delete(uid);
        updates.push({ kind: 'expunge', seq });
      }
      this.expunged.clear();
    }
    const before = this.uids.length;
    for (const e of fresh) this.append(toView(e, true));
    if (this.keywordsGrew) {
      this.keywordsGrew = false;
      updates.push({ kind: 'keywords' });
    }
    if (this.uids.length !== before) {
      updates.push({ kind: 'exists', count: this.uids.length }, { kind: 'recent', count: this.recentCount });
    }
    for (const uid of changed) {
      const seq = this.seqOf(uid);
      const entry = this.byUid.get(uid);
      if (seq && entry) updates.push({ kind: 'flags', seq, entry });
    }
    return updates;
  }
}
