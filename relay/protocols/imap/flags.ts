// Flags a client may set: the system flags (any case) and keywords; \Recent is the server's alone
// and is ignored in STORE and APPEND.
import { ImapError } from './session.ts';

/** The system flags a message keeps (the Store's canonical order). */
export const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'] as const;

const SYSTEM = new Map<string, string>(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));
const MAX_FLAGS = 64;
const MAX_KEYWORD = 100;

/** The flags to store, or a BAD naming the first one that cannot be stored. */
export function storableFlags(flags: readonly string[]): string[] {
  if (flags.length > MAX_FLAGS) throw new ImapError('BAD', `At most ${MAX_FLAGS} flags at once.`);
  const out: string[] = [];
  for (const flag of flags) {
    const lower = flag.toLowerCase();
    if (lower === '\\recent') continue;
    const system = SYSTEM.get(lower);
    if (system) out.push(system);
    else if (flag.startsWith('\\')) throw new ImapError('BAD', `${flag.slice(0, 40)} is not a flag a client can set.`);
    else if (flag.length > MAX_KEYWORD) throw new ImapError('BAD', `Keywords are at most ${MAX_KEYWORD} characters.`);
    else out.push(flag);
  }
  return out;
}

/** A UID list as a sequence set, ranges merged (`3:5,9`); keeps the order it is given in. */
export function uidSet(uids: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < uids.length) {
    let j = i;
    while (j + 1 < uids.length && uids[j + 1] === uids[j]! + 1) j++;
    parts.push(j > i ? `${uids[i]}:${uids[j]}` : String(uids[i]));
    i = j + 1;
  }
  return parts.join(',');
}
