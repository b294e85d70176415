// COPY and MOVE (with UIDPLUS's COPYUID). A message belongs to exactly one address, so a copy is a
// new message of one address, made through the ingest pipeline like any arrival:
//  - into Aliases/<address>: a new message of that address;
//  - into INBOX: a new message of the same address as the original (of the login address, for a
//    session logged in as an address).
// MOVE copies, then expunges the originals. A MOVE into a mailbox that holds the message already
// (INBOX, which holds all mail; the mailbox itself; the message's own address) is refused with
// NO [CANNOT], as it could not take the message out of where it is.
import type { Command } from '../ast.ts';
import type { Recipient } from '../../../core/ingest.ts';
import { uidSet } from '../flags.ts';
import { resolveMailbox } from '../mailboxes.ts';
import { SELECTED, command } from '../registry.ts';
import { no, ok } from '../session.ts';
import type { Session } from '../session.ts';
import { expunged } from './expunge.ts';

const BATCH = 100;

async function copy(s: Session, c: Extract<Command, { name: 'COPY' | 'MOVE' }>) {
  const move = c.name === 'MOVE';
  const sel = s.sel;
  const login = s.who;
  const { store, ingest } = s.deps;
  const target = await resolveMailbox(store, login, c.mailbox);
  if (!target) return no(`There is no mailbox ${c.mailbox.slice(0, 200)}.`, 'TRYCREATE');
  if (!target.selectable) return no(`${target.name} only groups the address mailboxes; choose one of them.`, 'CANNOT');
  if (move && sel.readOnly) return no('The mailbox is open read-only (EXAMINE).');
  const view = sel.view;
  const uids = view.resolve(c.set, c.uid).filter((uid) => !view.isExpunged(uid));
  const verb = `${c.uid ? 'UID ' : ''}${c.name}`;
  if (uids.length === 0) return ok(`${verb} completed: no messages`);

  if (move) {
    if (target.name === sel.ref.name) return no('The messages are in this mailbox already.', 'CANNOT');
    if (target.alias === null) return no('INBOX holds the mail of all your addresses already: nothing to move.', 'CANNOT');
    const own = uids.find((uid) => view.entry(uid)?.aliasId === target.alias!.id);
    if (own !== undefined) return no(`Message UID ${own} belongs to ${target.alias.address} already.`, 'CANNOT');
  }

  const userId = login.user.id;
  const sources: number[] = [];
  const copies: number[] = [];
  const byFlags = new Map<string, number[]>();
  try {
    for (let i = 0; i < uids.length; i += BATCH) {
      const batch = uids.slice(i, i + BATCH);
      const raws = await store.getRaws(sel.ref.scope, batch);
      const work = batch.flatMap((uid) => {
        const raw = raws.get(uid);
        const entry = view.entry(uid);
        if (!raw || !entry) return [];
        const recipient: Recipient = target.alias ?? { id: entry.aliasId, userId };
        return [{ uid, flags: entry.flags, done: ingest.deliver({ raw, mailFrom: '', recipients: [recipient], receivedAt: entry.receivedAt }) }];
      });
      const results = await Promise.allSettled(work.map((w) => w.done));
      results.forEach((r, k) => {
        if (r.status !== 'fulfilled') return;
        const id = r.value[0]!;
        sources.push(work[k]!.uid);
        copies.push(id);
        if (work[k]!.flags.length > 0) {
          const key = work[k]!.flags.join(' ');
          byFlags.set(key, [...(byFlags.get(key) ?? []), id]);
        }
      });
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
  } catch (err) {
    // All or nothing: the copies made so far go again.
    if (copies.length > 0) {
      const gone = await store.expungeMessages({ userId }, copies);
      s.publish({ type: 'expunge', userId, messageIds: gone });
    }
    s.deps.log.error({ err, conn: s.io.id }, `imap ${verb} failed`);
    return no(`The messages could not be copied; nothing was changed.`, 'SERVERBUG');
  }
  // Copies keep their flags (RFC 3501 §6.4.7).
  const flagged: number[] = [];
  for (const [key, ids] of byFlags) {
    const updates = await store.updateFlags({ userId }, ids, 'replace', key.split(' '));
    flagged.push(...updates.filter((u) => u.changed).map((u) => u.id));
  }
  if (flagged.length > 0) s.publish({ type: 'flags', userId, messageIds: flagged });

  // COPYUID pairs the sets in order: ranges only while both lists ascend together.
  const ascending = copies.every((id, k) => k === 0 || id > copies[k - 1]!);
  const copyUid = ascending
    ? `COPYUID ${target.uidValidity} ${uidSet(sources)} ${uidSet(copies)}`
    : `COPYUID ${target.uidValidity} ${sources.join(',')} ${copies.join(',')}`;
  if (!move) return ok(`${verb} completed`, copyUid);

  s.untagged(`OK [${copyUid}] Moved`);
  const gone = await store.expungeMessages(sel.ref.scope, sources);
  expunged(s, gone, true);
  return ok(`${verb} completed`);
}

export const copyCommands = [
  command('COPY', { states: SELECTED, expunges: true, handle: copy }),
  command('COPY', { states: SELECTED, expunges: true, handle: copy }, true),
  command('MOVE', { states: SELECTED, expunges: true, handle: copy }),
  command('MOVE', { states: SELECTED, expunges: true, handle: copy }, true),
];
