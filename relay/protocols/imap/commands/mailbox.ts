// Mailbox commands: SELECT/EXAMINE, LIST/LSUB, STATUS, CLOSE/UNSELECT, and the ones that change the
// set of mailboxes, which are refused: here mailboxes are addresses, made and removed through the
// API or the extension.
import { AUTHENTICATED, SELECTED, command } from '../registry.ts';
import { flagList, quoted } from '../encoder.ts';
import { ALIASES, DELIMITER, allMailboxes, encodeMailboxName, listMatcher, resolveMailbox } from '../mailboxes.ts';
import type { MailboxRef } from '../mailboxes.ts';
import { MailboxView } from '../tracker.ts';
import { mailboxFlags, no, ok } from '../session.ts';
import type { Result, Session } from '../session.ts';
import { expungeDeleted } from './expunge.ts';

const PERMANENT = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft', '\\*'];

const ADDRESSES_ONLY =
  'Mailboxes here are your addresses: INBOX and Aliases/<address>. Make or remove an address with the Wisp extension or the API (/api/aliases).';

export async function mailboxOrFail(s: Session, name: string): Promise<MailboxRef | Result> {
  const ref = await resolveMailbox(s.deps.store, s.who, name);
  if (!ref) return no(`There is no mailbox ${name.slice(0, 200)}.`, 'NONEXISTENT');
  return ref;
}

async function open(s: Session, name: string, readOnly: boolean): Promise<Result> {
  // A failed SELECT leaves no mailbox selected (RFC 3501 §6.3.1).
  s.select(null);
  const found = await mailboxOrFail(s, name);
  if ('status' in found) return found;
  if (!found.selectable) return no(`${found.name} only groups the address mailboxes; select one of them.`, 'CANNOT');
  const { store } = s.deps;
  const entries = await store.listMailbox(found.scope);
  const view = new MailboxView(entries);
  const status = await store.mailboxStatus(found.scope);
  const uidNext = Math.max(status.uidNext, view.lastUid + 1);
  s.untagged(`FLAGS ${flagList(mailboxFlags(view))}`);
  s.untagged(`OK [PERMANENTFLAGS ${readOnly ? '()' : flagList(PERMANENT)}] ${readOnly ? 'Read-only' : 'Flags are kept'}`);
  s.untagged(`${view.exists} EXISTS`);
  s.untagged('0 RECENT');
  const firstUnseen = view.allUids().findIndex((uid) => !view.entry(uid)!.flags.includes('\\Seen'));
  if (firstUnseen !== -1) s.untagged(`OK [UNSEEN ${firstUnseen + 1}] First unseen message`);
  s.untagged(`OK [UIDVALIDITY ${found.uidValidity}] UIDs valid`);
  s.untagged(`OK [UIDNEXT ${uidNext}] Predicted next UID`);
  s.select({ ref: found, readOnly, view });
  return ok(`${readOnly ? 'EXAMINE' : 'SELECT'} completed`, readOnly ? 'READ-ONLY' : 'READ-WRITE');
}

async function list(s: Session, reference: string, pattern: string, verb: 'LIST' | 'LSUB'): Promise<Result> {
  if (pattern === '') {
    // The hierarchy delimiter and root (RFC 3501 §6.3.8).
    if (verb === 'LIST') s.untagged(`LIST (\\Noselect) ${quoted(DELIMITER)} ""`);
    return ok(`${verb} completed`);
  }
  const match = listMatcher(reference, pattern);
  for (const box of await allMailboxes(s.deps.store, s.who)) {
    if (!match.test(box.name)) continue;
    s.untagged(`${verb} (${box.attributes.join(' ')}) ${quoted(DELIMITER)} ${quoted(encodeMailboxName(box.name))}`);
  }
  return ok(`${verb} completed`);
}

export const mailboxCommands = [
  command('SELECT', { states: AUTHENTICATED, expunges: true, handle: (s, c) => open(s, c.mailbox, false) }),
  command('EXAMINE', { states: AUTHENTICATED, expunges: true, handle: (s, c) => open(s, c.mailbox, true) }),
  command('CREATE', { states: AUTHENTICATED, expunges: true, handle: async () => no(ADDRESSES_ONLY, 'CANNOT') }),
  command('DELETE', { states: AUTHENTICATED, expunges: true, handle: async () => no(ADDRESSES_ONLY, 'CANNOT') }),
  command('RENAME', { states: AUTHENTICATED, expunges: true, handle: async () => no(ADDRESSES_ONLY, 'CANNOT') }),
  // Every mailbox counts as subscribed: LSUB lists what LIST lists, and (un)subscribing changes nothing.
  command('SUBSCRIBE', { states: AUTHENTICATED, expunges: true, handle: async () => ok('SUBSCRIBE completed') }),
  command('UNSUBSCRIBE', { states: AUTHENTICATED, expunges: true, handle: async () => ok('UNSUBSCRIBE completed') }),
  command('LIST', { states: AUTHENTICATED, expunges: true, handle: (s, c) => list(s, c.reference, c.pattern, 'LIST') }),
  command('LSUB', { states: AUTHENTICATED, expunges: true, handle: (s, c) => list(s, c.reference, c.pattern, 'LSUB') }),
  command('STATUS', {
    states: AUTHENTICATED,
    expunges: true,
    async handle(s, c) {
      const found = await mailboxOrFail(s, c.mailbox);
      if ('status' in found) return found;
      if (!found.selectable) return no(`${ALIASES} has no messages of its own.`, 'CANNOT');
      const status = await s.deps.store.mailboxStatus(found.scope);
      const values: Record<string, number> = {
        MESSAGES: status.messages,
        RECENT: 0,
        UIDNEXT: status.uidNext,
        UIDVALIDITY: found.uidValidity,
        UNSEEN: status.unseen,
      };
      const items = c.items.map((item) => `${item} ${values[item]}`).join(' ');
      s.untagged(`STATUS ${quoted(encodeMailboxName(found.name))} (${items})`);
      return ok('STATUS completed');
    },
  }),
  command('CLOSE', {
    states: SELECTED,
    expunges: false,
    async handle(s) {
      // Expunges silently (no untagged EXPUNGE), then leaves the selected state.
      if (!s.sel.readOnly) await expungeDeleted(s, null, false);
      s.select(null);
      return ok('CLOSE completed');
    },
  }),
  command('UNSELECT', {
    states: SELECTED,
    expunges: false,
    async handle(s) {
      s.select(null);
      return ok('UNSELECT completed');
    },
  }),
];
