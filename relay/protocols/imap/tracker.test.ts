import { describe, expect, it } from 'vitest';
import type { MailboxEntry } from '../../core/ports.ts';
import { MailboxView } from './tracker.ts';
import type { ViewSource } from './tracker.ts';

const entry = (id: number, flags: string[] = []): MailboxEntry => ({ id, aliasId: 1, size: 10 * id, receivedAt: new Date(id * 1000), flags });

/** A store stand-in: the mailbox as it is now. */
function source(entries: MailboxEntry[]): ViewSource & { entries: (ids: number[]) => Promise<MailboxEntry[]>; now: MailboxEntry[] } {
  const s = {
    now: entries,
    listAfter: async (after: number) => s.now.filter((e) => e.id > after),
    entries: async (ids: number[]) => s.now.filter((e) => ids.includes(e.id)),
  };
  return s;
}

describe('mailbox view (tracker)', () => {
  it('maps sequence numbers and UIDs, and resolves sequence sets both ways', () => {
    const view = new MailboxView([entry(3), entry(7), entry(9), entry(20)]);
    expect(view.exists).toBe(4);
    expect(view.seqOf(9)).toBe(3);
    expect(view.seqOf(8)).toBe(0);
    expect(view.resolve([{ from: 2, to: '*' }], false)).toEqual([7, 9, 20]);
    expect(view.resolve([{ from: 4, to: 1 }], false)).toEqual([3, 7, 9, 20]);
    expect(view.resolve([{ from: 9, to: 9 }], false)).toEqual([]);
    expect(view.resolve([{ from: 5, to: 10 }], true)).toEqual([7, 9]);
    // n:* with n above every UID still names the highest message (RFC 3501 §6.4.8).
    expect(view.resolve([{ from: 500, to: '*' }], true)).toEqual([20]);
    expect(view.resolve([{ from: 1, to: 2 }, { from: 3, to: 3 }, { from: 3, to: 7 }], true)).toEqual([3, 7]);
    expect(new MailboxView([]).resolve([{ from: 1, to: '*' }], true)).toEqual([]);
  });

  it('announces expunges highest first, then new mail, then flag changes', async () => {
    const view = new MailboxView([entry(1), entry(2), entry(3), entry(4, ['$A'])]);
    const store = source([entry(1), entry(3, ['\\Seen']), entry(4, ['$A']), entry(5), entry(6, ['$New'])]);
    view.noteExpunge([2, 4]);
    store.now = store.now.filter((e) => e.id !== 4);
    view.noteFlags([3]);
    view.noteNewMail();
    const updates = await view.sync(store, true);
    expect(updates.map((u) => (u.kind === 'flags' ? `flags ${u.seq} ${u.entry.flags.join(',')}` : u.kind === 'expunge' ? `expunge ${u.seq}` : u.kind === 'keywords' ? 'keywords' : `${u.kind} ${u.count}`))).toEqual([
      'expunge 4',
      'expunge 2',
      'keywords',
      'exists 4',
      'recent 2',
      'flags 2 \\Seen',
    ]);
    expect(view.allUids()).toEqual([1, 3, 5, 6]);
    expect(view.flagsOf(view.entry(6)!)).toEqual(['$New', '\\Recent']);
    expect([...view.keywords]).toEqual(['$A', '$New']);
    expect(view.hasPending).toBe(false);
  });

  it('holds expunges back when they may not be sent, and counts the held messages in EXISTS', async () => {
    const view = new MailboxView([entry(1), entry(2)]);
    const store = source([entry(1), entry(3)]);
    view.noteExpunge([2]);
    view.noteNewMail();
    expect(await view.sync(store, false)).toEqual([
      { kind: 'exists', count: 3 },
      { kind: 'recent', count: 1 },
    ]);
    expect(view.isExpunged(2)).toBe(true);
    expect(await view.sync(store, true)).toEqual([{ kind: 'expunge', seq: 2 }]);
    expect(view.allUids()).toEqual([1, 3]);
  });

  it('treats a flag change of a message gone from the store as an expunge, and resyncs in full', async () => {
    const view = new MailboxView([entry(1), entry(2), entry(3)]);
    const store = source([entry(1, ['\\Flagged']), entry(3)]);
    view.noteFlags([2]);
    expect(await view.sync(store, true)).toEqual([{ kind: 'expunge', seq: 2 }]);
    view.noteResync();
    store.now = [entry(1, ['\\Flagged']), entry(4)];
    const updates = await view.sync(store, true);
    expect(updates.map((u) => u.kind)).toEqual(['expunge', 'exists', 'recent', 'flags']);
    expect(view.allUids()).toEqual([1, 4]);
  });

  it('applies the session’s own changes at once', () => {
    const view = new MailboxView([entry(1), entry(2)]);
    view.setFlags(2, ['\\Deleted', 'Work']);
    expect(view.entry(2)?.flags).toEqual(['\\Deleted', 'Work']);
    expect(view.hasPending).toBe(true); // the new keyword is announced with FLAGS
    expect(view.remove(1)).toBe(1);
    expect(view.remove(1)).toBe(0);
    expect(view.seqOf(2)).toBe(1);
  });
});
