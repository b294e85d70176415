// Mailbox names (INTERFACE.md §4): INBOX holds all of a user's mail; `Aliases/<address>` holds one
// address's mail; `Aliases` itself only groups them (\Noselect). A login as an address sees its own
// mail as INBOX and nothing else.
//
// UIDVALIDITY: INBOX of a user login is the user's id; an address's mailbox (Aliases/<address>,
// or the INBOX of an address login) is the address's id. Ids are never reused and UIDs are the
// store's message ids, which only grow, so a mailbox keeps its UIDVALIDITY across restarts.
import type { AliasRecord, MailboxScope, Store, User } from '../../core/ports.ts';

export const DELIMITER = '/';
export const ALIASES = 'Aliases';

export interface Login {
  user: User;
  /** Set when the session logged in with one of the user's addresses. */
  alias: AliasRecord | null;
}

export interface MailboxRef {
  /** The name as LIST shows it. */
  name: string;
  scope: MailboxScope;
  uidValidity: number;
  /** Whose mail it is: null for a user's INBOX, which holds every address's mail. */
  alias: AliasRecord | null;
  selectable: boolean;
}

// ----------------------------------------------------------------- modified UTF-7 (RFC 3501 §5.1.3)

export function decodeMailboxName(name: string): string {
  return name.replace(/&([^-]*)-/g, (_whole, b64: string) => {
    if (b64 === '') return '&';
    const bytes = Buffer.from(b64.replace(/,/g, '/'), 'base64');
    let out = '';
    for (let i = 0; i + 1 < bytes.length; i += 2) out += String.fromCharCode((bytes[i]! << 8) | bytes[i + 1]!);
    return out;
  });
}

export function encodeMailboxName(name: string): string {
  return name.replace(/&|[^\x20-\x7e]+/g, (run) => {
    if (run === '&') return '&-';
    const bytes = Buffer.alloc(run.length * 2);
    for (let i = 0; i < run.length; i++) bytes.writeUInt16BE(run.charCodeAt(i), i * 2);
    return `&${bytes.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
  });
}

// ------------------------------------------------------------------------------------ naming

const aliasPrefix = `${ALIASES.toLowerCase()}${DELIMITER}`;

function inbox(login: Login): MailboxRef {
  if (login.alias) {
    return { name: 'INBOX', scope: { userId: login.user.id, aliasId: login.alias.id }, uidValidity: login.alias.id, alias: login.alias, selectable: true };
  }
  return { name: 'INBOX', scope: { userId: login.user.id }, uidValidity: login.user.id, alias: null, selectable: true };
}

function aliasMailbox(login: Login, alias: AliasRecord): MailboxRef {
  return {
    name: `${ALIASES}${DELIMITER}${alias.address}`,
    scope: { userId: login.user.id, aliasId: alias.id },
    uidValidity: alias.id,
    alias,
    selectable: true,
  };
}

/** The mailbox a client named, or null when there is none. */
export async function resolveMailbox(store: Store, login: Login, rawName: string): Promise<MailboxRef | null> {
  const name = decodeMailboxName(rawName);
  if (name.toUpperCase() === 'INBOX') return inbox(login);
  if (login.alias) return null;
  if (name === ALIASES || name.toLowerCase() === ALIASES.toLowerCase()) {
    return { name: ALIASES, scope: { userId: login.user.id }, uidValidity: login.user.id, alias: null, selectable: false };
  }
  if (!name.toLowerCase().startsWith(aliasPrefix)) return null;
  const address = name.slice(aliasPrefix.length).trim().toLowerCase();
  if (!address || address.length > 320) return null;
  const alias = await store.getAlias(address);
  if (!alias || alias.userId !== login.user.id || alias.expired) return null;
  return aliasMailbox(login, alias);
}

export interface ListedMailbox {
  name: string;
  attributes: string[];
}

/** Every mailbox of the login, in the order LIST shows them. */
export async function allMailboxes(store: Store, login: Login): Promise<ListedMailbox[]> {
  if (login.alias) return [{ name: 'INBOX', attributes: ['\\HasNoChildren'] }];
  const aliases: AliasRecord[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    const page = await store.listAliases(login.user.id, { limit: 200, ...(cursor ? { cursor } : {}) });
    aliases.push(...page.items.filter((a) => !a.expired));
    if (!page.next) break;
    cursor = page.next;
  }
  aliases.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return [
    { name: 'INBOX', attributes: ['\\HasNoChildren'] },
    { name: ALIASES, attributes: ['\\Noselect', aliases.length > 0 ? '\\HasChildren' : '\\HasNoChildren'] },
    ...aliases.map((a) => ({ name: `${ALIASES}${DELIMITER}${a.address}`, attributes: ['\\HasNoChildren'] })),
  ];
}

/** LIST's reference and pattern (with * and %) as one expression over mailbox names. */
export function listMatcher(reference: string, pattern: string): RegExp {
  const full = decodeMailboxName(reference) + decodeMailboxName(pattern);
  let source = '';
  for (const c of full) {
    if (c === '*') source += '.*';
    else if (c === '%') source += `[^${DELIMITER}]*`;
    else source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  // INBOX is case-insensitive; addresses are lowercase; so matching ignores case throughout.
  return new RegExp(`^${source}$`, 'is');
}
