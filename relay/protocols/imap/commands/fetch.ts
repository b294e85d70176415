// FETCH and UID FETCH: every RFC 3501 data item, body sections with partial ranges, and the ALL,
// FAST and FULL macros. What a message is read for is the least its items need: nothing (UID,
// FLAGS, INTERNALDATE, RFC822.SIZE come from the view), its header block alone (ENVELOPE, header
// sections), or the whole message. Messages are read from the store in batches and written as
// they are built, waiting whenever the socket is backed up, so a full download never holds a
// mailbox in memory.
import type { Command, FetchAtt, Section } from '../ast.ts';
import { ResponseWriter, flagList, internalDate, quoted } from '../encoder.ts';
import { SELECTED, command } from '../registry.ts';
import { ParsedMessage } from '../sections.ts';
import { bodyStructure, envelope } from '../structure.ts';
import { ok } from '../session.ts';
import type { Session } from '../session.ts';
import type { MailboxView, ViewEntry } from '../tracker.ts';

/** Messages per store read: whole messages, or header blocks (small, so more of them). */
const BATCH_MESSAGES = 200;
const BATCH_HEADERS = 1000;
/** Bytes per store read, counted by message size (which bounds a header block's size too). */
const BATCH_BYTES = 8 * 1024 * 1024;
/** Responses go to the connection in pieces of about this much. */
const WRITE_BYTES = 256 * 1024;

/** What an item reads of a message, from least to most. */
const NOTHING = 0;
const HEADER = 1;
const MESSAGE = 2;
type Need = typeof NOTHING | typeof HEADER | typeof MESSAGE;

function need(att: FetchAtt): Need {
  switch (att.kind) {
    case 'FLAGS':
    case 'UID':
    case 'INTERNALDATE':
    case 'RFC822.SIZE':
      return NOTHING;
    case 'ENVELOPE':
    case 'RFC822.HEADER':
      return HEADER;
    case 'BODY[]': {
      // The top-level header and its fields; a part's header needs the MIME tree, so the message.
      const { part, text } = att.section;
      return part.length === 0 && (text === 'HEADER' || text === 'HEADER.FIELDS' || text === 'HEADER.FIELDS.NOT') ? HEADER : MESSAGE;
    }
    default:
      return MESSAGE;
  }
}

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
function* batches(uids: number[], sizeOf: (uid: number) => number, most: number): Generator<number[]> {
  let batch: number[] = [];
  let bytes = 0;
  for (const uid of uids) {
    const size = sizeOf(uid);
    if (batch.length > 0 && (batch.length >= most || bytes + size > BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(uid);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

/**
 * Appends one item. `message` is the whole message, or its header block alone when no item needs
 * more (the header items read the same bytes either way), or null when none reads it at all.
 */
function item(att: FetchAtt, view: MailboxView, entry: ViewEntry, message: ParsedMessage | null, r: ResponseWriter): void {
  switch (att.kind) {
    case 'FLAGS':
      r.text(`FLAGS ${flagList(view.flagsOf(entry))}`);
      return;
    case 'UID':
      r.text(`UID ${entry.uid}`);
      return;
    case 'INTERNALDATE':
      r.text(`INTERNALDATE "${internalDate(entry.receivedAt)}"`);
      return;
    case 'RFC822.SIZE':
      r.text(`RFC822.SIZE ${entry.size}`);
      return;
  }
  const m = message!;
  switch (att.kind) {
    case 'ENVELOPE':
      r.text('ENVELOPE ').value(envelope(m.top.fields));
      return;
    case 'BODYSTRUCTURE':
    case 'BODY':
      r.text(`${att.kind} `).value(bodyStructure(m.raw, m.mime, att.kind === 'BODYSTRUCTURE'));
      return;
    case 'RFC822':
      r.text('RFC822 ').literal(m.raw);
      return;
    case 'RFC822.HEADER':
      r.text('RFC822.HEADER ').literal(m.section({ part: [], text: 'HEADER', fields: [] }));
      return;
    case 'RFC822.TEXT':
      r.text('RFC822.TEXT ').literal(m.section({ part: [], text: 'TEXT', fields: [] }));
      return;
    case 'BODY[]': {
      let data = m.section(att.section);
      let name = `BODY[${sectionName(att.section)}]`;
      if (att.partial) {
        data = data.subarray(Math.min(att.partial.start, data.length), Math.min(att.partial.start + att.partial.length, data.length));
        name += `<${att.partial.start}>`;
      }
      r.text(`${name} `).literal(data);
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
  const reads = Math.max(NOTHING, ...items.map(need)) as Need;
  const marksSeen = !sel.readOnly && items.some(setsSeen);
  const hasFlags = items.some((i) => i.kind === 'FLAGS');
  const uids = view.resolve(c.set, c.uid);
  const seenNow: number[] = [];
  const r = new ResponseWriter();

  for (const batch of batches(uids, (uid) => view.entry(uid)?.size ?? 0, reads === MESSAGE ? BATCH_MESSAGES : BATCH_HEADERS)) {
    const read =
      reads === MESSAGE ? await store.getRaws(sel.ref.scope, batch) : reads === HEADER ? await store.getHeaders(sel.ref.scope, batch) : null;
    const flagged = new Set<number>();
    if (marksSeen) {
      const unseen = batch.filter((uid) => !view.entry(uid)?.flags.includes('\\Seen') && (!read || read.has(uid)));
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
      const bytes = read?.get(uid);
      // Expunged by another session and not yet announced: nothing left to show.
      if (read && !bytes) continue;
      const message = bytes ? new ParsedMessage(bytes, reads === HEADER) : null;
      r.text(`* ${view.seqOf(uid)} FETCH (`);
      for (let i = 0; i < items.length; i++) {
        if (i > 0) r.text(' ');
        item(items[i]!, view, entry, message, r);
      }
      // A FETCH that set \Seen reports the new flags (RFC 3501 §6.4.5).
      if (flagged.has(uid) && !hasFlags) r.text(` FLAGS ${flagList(view.flagsOf(entry))}`);
      r.text(')\r\n');
      if (r.size >= WRITE_BYTES) s.io.write(r.take());
    }
    s.io.write(r.take());
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
