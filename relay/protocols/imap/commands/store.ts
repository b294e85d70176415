// STORE and UID STORE: FLAGS, +FLAGS, -FLAGS, each with .SILENT.
import type { Command } from '../ast.ts';
import { flagList } from '../encoder.ts';
import { storableFlags } from '../flags.ts';
import { SELECTED, command } from '../registry.ts';
import { no, ok } from '../session.ts';
import type { Session } from '../session.ts';

async function store(s: Session, c: Extract<Command, { name: 'STORE' }>) {
  const sel = s.sel;
  if (sel.readOnly) return no('The mailbox is open read-only (EXAMINE).');
  const flags = storableFlags(c.flags);
  const view = sel.view;
  const uids = view.resolve(c.set, c.uid);
  const updates = await s.deps.store.updateFlags(sel.ref.scope, uids, c.mode, flags);
  const changed: number[] = [];
  for (const u of updates) {
    view.setFlags(u.id, u.flags);
    if (u.changed) changed.push(u.id);
    if (c.silent) continue;
    const entry = view.entry(u.id);
    if (!entry) continue;
    s.untagged(`${view.seqOf(u.id)} FETCH (${c.uid ? `UID ${u.id} ` : ''}FLAGS ${flagList(view.flagsOf(entry))})`);
  }
  if (changed.length > 0) s.publish({ type: 'flags', userId: s.who.user.id, messageIds: changed });
  return ok(c.uid ? 'UID STORE completed' : 'STORE completed');
}

export const storeCommands = [
  command('STORE', { states: SELECTED, expunges: false, handle: store }),
  command('STORE', { states: SELECTED, expunges: true, handle: store }, true),
];
