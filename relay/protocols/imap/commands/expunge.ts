// EXPUNGE and UID EXPUNGE (UIDPLUS), and the expunging CLOSE and MOVE share.
import type { Command } from '../ast.ts';
import { SELECTED, command } from '../registry.ts';
import { ImapError, ok } from '../session.ts';
import type { Session } from '../session.ts';

/**
 * Removes `uids` (already deleted from the store) from the view, telling the client unless
 * `announce` is false (CLOSE), and tells every other session.
 */
export function expunged(s: Session, uids: number[], announce: boolean): void {
  if (uids.length === 0) return;
  const view = s.sel.view;
  // Highest number first, so each number is still the one the client knows.
  const bySeq = uids.map((uid) => ({ uid, seq: view.seqOf(uid) })).sort((a, b) => b.seq - a.seq);
  for (const { uid } of bySeq) {
    const seq = view.remove(uid);
    if (seq && announce) s.untagged(`${seq} EXPUNGE`);
  }
  s.publish({ type: 'expunge', userId: s.who.user.id, messageIds: uids });
}

/** Deletes the selected mailbox's messages flagged \Deleted (only among `within` when given). */
export async function expungeDeleted(s: Session, within: readonly number[] | null, announce: boolean): Promise<number[]> {
  const sel = s.sel;
  if (sel.readOnly) throw new ImapError('NO', 'The mailbox is open read-only (EXAMINE).', 'READ-ONLY');
  const { store } = s.deps;
  const scope = sel.ref.scope;
  // Ask the store rather than the view: another session may have set \Deleted a moment ago.
  const entries = within === null ? await store.listMailbox(scope) : await store.getMailboxEntries(scope, [...within]);
  const candidates = entries.filter((e) => e.flags.includes('\\Deleted') && sel.view.seqOf(e.id) > 0).map((e) => e.id);
  const gone = await store.expungeMessages(scope, candidates);
  expunged(s, gone, announce);
  return gone;
}

const expunge = {
  states: SELECTED,
  expunges: true,
  async handle(s: Session, c: Extract<Command, { name: 'EXPUNGE' }>) {
    const within = c.uid ? s.sel.view.resolve(c.set, true) : null;
    await expungeDeleted(s, within, true);
    return ok(c.uid ? 'UID EXPUNGE completed' : 'EXPUNGE completed');
  },
};

export const expungeCommands = [command('EXPUNGE', expunge), command('EXPUNGE', expunge, true)];
