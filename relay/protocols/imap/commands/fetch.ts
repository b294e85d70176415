// FETCH and UID FETCH: every RFC 3501 data item, body sections with partial ranges, and the ALL,
// FAST and FULL macros. Bodies are read from the store in batches and written as they are built,
// waiting whenever the socket is backed up, so a full download never holds a mailbox in memory.
import type { Command, FetchAtt, Section } from '../ast.ts';
import { encodeValue, flagList, internalDate, quoted } from '../encoder.ts';
import { SELECTED, command } from '../registry.ts';
import { ParsedMessage } from '../sections.ts';
import { bodyStructure, envelope } from '../structure.ts';
import { ok } from '../session.ts';
import type { Session } from '../session.ts';
import type { ViewEntry } from '../tracker.ts';

const BATCH_MESSAGES = 200;
const BATCH_BYTES = 8 * 1024 * 1024;

const NEEDS_BODY = new Set<FetchAtt['kind']>(['ENVELOPE', 'BODYSTRUCTURE', 'BODY', 'BODY[]', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT']);

const atomSafe = /^[A-Za-z0-9!#$&'+\-.^_`|~]+$/;

/** How a section is echoed in the response, e.g. `1.2.HEADER.FIELDS (From To)`. */
export function sectionName(section: Section): string {
  let s = section.part.join('.');
  if (section.text) {
    s += (s ? '.' : '') + section.text;
    if (section.fields.length > 0) {
      s += ` (${section.fields.map((f) => (atomSafe.test(f) ? f : quoted(f))).join(' ')})`;
    }
  }
  return s;
}

function setsSeen(att: FetchAtt): boolean {
  return (att.kind === 'BODY[]' && !att.peek) || att.kind === 'RFC822' || att.kind === 'RFC822.TEXT';
}

/** Batches of UIDs whose bodies together stay within BATCH_BYTES (one big message alone is fine). */
function* batches(uids: number[], sizeOf: (uid: number) => number): Generator<number[]> {
  let batch: number[] = [];
  let bytes = 0;
  for (const uid of uids) {
    const size = sizeOf(uid);
    if (batch.length > 0 && (batch.length >= BATCH_MESSAGES || bytes + size > BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(uid);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

function item(att: FetchAtt, s: Session, entry: ViewEntry, message: ParsedMessage | null, out: (string | Buffer)[]): void {
  const view = s.sel.view;
  switch (att.kind) {
    case 'FLAGS':
      out.push(`FLAGS ${flagList(view.flagsOf(entry))}`);
      return;
    case 'UID':
      out.push(`UID ${entry.uid}`);
      return;
    case 'INTERNALDATE':
      out.push(`INTERNALDATE "${internalDate(entry.receivedAt)}"`);
      return;
    case 'RFC822.SIZE':
      out.push(`RFC822.SIZE ${entry.size}`);
      return;
  }
  const m = message!;
  switch (att.kind) {
    case 'ENVELOPE':
      out.push('ENVELOPE ');
      encodeValue(envelope(m.top.fields), out);
      return;
    case 'BODYSTRUCTURE':
    case 'BODY':
      out.push(`${att.kind} `);
      encodeValue(bodyStructure(m.raw, m.mime, att.kind === 'BODYSTRUCTURE'), out);
      return;
    case 'RFC822':
      out.push('RFC822 ');
      encodeValue(m.raw, out);
      return;
    case 'RFC822.HEADER':
      out.push('RFC822.HEADER ');
      encodeValue(m.section({ part: [], text: 'HEADER', fields: [] }), out);
      return;
    case 'RFC822.TEXT':
      out.push('RFC822.TEXT ');
      encodeValue(m.section({ part: [], text: 'TEXT', fields: [] }), out);
      return;
    case 'BODY[]': {
      let data = m.section(att.section);
      let name = `BODY[${sectionName(att.section)}]`;
      if (att.partial) {
        data = data.subarray(Math.min(att.partial.start, data.length), Math.min(att.partial.start + att.partial.length, data.length));
        name += `<${att.partial.start}>`;
      }
      out.push(`${name} `);
      encodeValue(data, out);
      return;
    }
  }
}

async function fetch(s: Session, c: Extract<Command, { name: 'FETCH' }>) {
  const sel = s.sel;
  const view = sel.view;
  const { store } = s.deps;
  const items = [...c.items];
  // UID FETCH always reports the UID; put it first, where clients look for it.
  if (c.uid && !items.some((i) => i.kind === 'UID')) items.unshift({ kind: 'UID' });
  const needBody = items.some((i) => NEEDS_BODY.has(i.kind));
  const marksSeen = !sel.readOnly && items.some(setsSeen);
  const hasFlags = items.some((i) => i.kind === 'FLAGS');
  const uids = view.resolve(c.set, c.uid);
  const seenNow: number[] = [];

  for (const batch of batches(uids, (uid) => view.entry(uid)?.size ?? 0)) {
    const raws = needBody ? await store.getRaws(sel.ref.scope, batch) : null;
    const flagged = new Set<number>();
    if (marksSeen) {
      const unseen = batch.filter((uid) => !view.entry(uid)?.flags.includes('\\Seen') && (!raws || raws.has(uid)));
      if (unseen.length > 0) {
        for (const u of await store.updateFlags(sel.ref.scope, unseen, 'add', ['\\Seen'])) {
          view.setFlags(u.id, u.flags);
          if (u.changed) {
            flagged.add(u.id);
            seenNow.push(u.id);
          }
        }
      }
    }
    for (const uid of batch) {
      const entry = view.entry(uid);
      if (!entry) continue;
      const raw = raws?.get(uid);
      // Expunged by another session and not yet announced: nothing left to show.
      if (raws && !raw) continue;
      const message = raw ? new ParsedMessage(raw) : null;
      const out: (string | Buffer)[] = [`* ${view.seqOf(uid)} FETCH (`];
      items.forEach((att, i) => {
        if (i > 0) out.push(' ');
        item(att, s, entry, message, out);
      });
      // A FETCH that set \Seen reports the new flags (RFC 3501 §6.4.5).
      if (flagged.has(uid) && !hasFlags) out.push(` FLAGS ${flagList(view.flagsOf(entry))}`);
      out.push(')\r\n');
      s.io.write(out);
    }
    await s.io.flush();
  }
  if (seenNow.length > 0) s.publish({ type: 'flags', userId: s.who.user.id, messageIds: seenNow });
  return ok(c.uid ? 'UID FETCH completed' : 'FETCH completed');
}

export const fetchCommands = [
  // Untagged EXPUNGE is not allowed during FETCH by sequence number (RFC 3501 §7.4.1).
  command('FETCH', { states: SELECTED, expunges: false, handle: fetch }),
  command('FETCH', { states: SELECTED, expunges: true, handle: fetch }, true),
];
