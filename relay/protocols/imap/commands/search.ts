// SEARCH and UID SEARCH with every RFC 3501 key. Text keys compare without regard to case, on
// decoded text (encoded words, transfer encodings and charsets undone). Messages are read only when
// a key needs them, in batches: header blocks alone for header keys, whole messages for BODY and TEXT.
import type { Command, DateOnly, SearchKey } from '../ast.ts';
import { MONTHS } from '../parser.ts';
import { SELECTED, command } from '../registry.ts';
import { ParsedMessage } from '../sections.ts';
import { no, ok } from '../session.ts';
import type { Session } from '../session.ts';
import { bodyText, decodeHeader, headerText } from '../text.ts';
import type { MailboxView, ViewEntry } from '../tracker.ts';

const BATCH = 200;
const CHARSETS = new Set(['UTF-8', 'US-ASCII']);

interface Needs {
  header: boolean;
  body: boolean;
}

function needs(key: SearchKey, n: Needs = { header: false, body: false }): Needs {
  switch (key.kind) {
    case 'header':
      n.header = true;
      break;
    case 'date':
      if (key.of === 'sent') n.header = true;
      break;
    case 'body':
    case 'text':
      n.header = true;
      n.body = true;
      break;
    case 'not':
      needs(key.key, n);
      break;
    case 'or':
      needs(key.a, n);
      needs(key.b, n);
      break;
    case 'and':
      for (const k of key.keys) needs(k, n);
      break;
    default:
  }
  return n;
}

const dayNumber = (d: DateOnly) => d.year * 10_000 + d.month * 100 + d.day;
const utcDay = (date: Date) => date.getUTCFullYear() * 10_000 + (date.getUTCMonth() + 1) * 100 + date.getUTCDate();

/** The date a Date: header names, as written (its time and zone disregarded, RFC 3501 §6.4.4). */
export function sentDay(value: string | undefined): number | null {
  if (!value) return null;
  const m = /(\d{1,2})\s+([A-Za-z]{3})[A-Za-z]*\.?\s+(\d{2,4})\b/.exec(value);
  if (!m) return null;
  const month = MONTHS.indexOf(m[2]!.toUpperCase()) + 1;
  if (month === 0) return null;
  let year = Number(m[3]);
  if (m[3]!.length === 2) year += year < 50 ? 2000 : 1900;
  return dayNumber({ year, month, day: Number(m[1]) });
}

/** One message's searchable text, decoded and lowercased once, on demand. */
class Searchable {
  private parsed: ParsedMessage;
  private headers = new Map<string, string[]>();
  private allHeaders: string | null = null;
  private body: string | null = null;

  /** `headerOnly`: `raw` is the header block alone, enough for every key but BODY and TEXT. */
  constructor(raw: Buffer, headerOnly: boolean) {
    this.parsed = new ParsedMessage(raw, headerOnly);
  }

  header(field: string): string[] | undefined {
    let values = this.headers.get(field);
    if (!values) {
      values = this.parsed.top.fields.filter((f) => f.lower === field).map((f) => decodeHeader(f.value).toLowerCase());
      this.headers.set(field, values);
    }
    return values.length > 0 ? values : undefined;
  }

  headerBlock(): string {
    this.allHeaders ??= headerText(this.parsed.mime).toLowerCase();
    return this.allHeaders;
  }

  bodyText(): string {
    this.body ??= bodyText(this.parsed.raw, this.parsed.mime).toLowerCase();
    return this.body;
  }

  date(): string | undefined {
    return this.parsed.top.fields.find((f) => f.lower === 'date')?.value;
  }
}

interface Context {
  view: MailboxView;
  sets: WeakMap<SearchKey, Set<number>>;
}

function inSet(ctx: Context, key: Extract<SearchKey, { kind: 'uid' | 'seq' }>, uid: number): boolean {
  let set = ctx.sets.get(key);
  if (!set) {
    set = new Set(ctx.view.resolve(key.set, key.kind === 'uid'));
    ctx.sets.set(key, set);
  }
  return set.has(uid);
}

function compareDay(day: number, op: 'before' | 'on' | 'since', wanted: number): boolean {
  return op === 'before' ? day < wanted : op === 'on' ? day === wanted : day >= wanted;
}

function matches(key: SearchKey, ctx: Context, entry: ViewEntry, text: Searchable | null): boolean {
  switch (key.kind) {
    case 'all':
      return true;
    case 'flag': {
      const wanted = key.flag.toLowerCase();
      const has = wanted === '\\recent' ? entry.recent : entry.flags.some((f) => f.toLowerCase() === wanted);
      return has === key.set;
    }
    case 'new':
      return entry.recent && !entry.flags.includes('\\Seen');
    case 'old':
      return !entry.recent;
    case 'recent':
      return entry.recent;
    case 'header': {
      const values = text?.header(key.field);
      if (!values) return false;
      const needle = key.value.toLowerCase();
      return values.some((v) => v.includes(needle));
    }
    case 'body':
      return text !== null && text.bodyText().includes(key.value.toLowerCase());
    case 'text': {
      if (!text) return false;
      const needle = key.value.toLowerCase();
      return text.headerBlock().includes(needle) || text.bodyText().includes(needle);
    }
    case 'date': {
      const day = key.of === 'internal' ? utcDay(entry.receivedAt) : (sentDay(text?.date()) ?? utcDay(entry.receivedAt));
      return compareDay(day, key.op, dayNumber(key.date));
    }
    case 'size':
      return key.op === 'larger' ? entry.size > key.size : entry.size < key.size;
    case 'uid':
    case 'seq':
      return inSet(ctx, key, entry.uid);
    case 'not':
      return !matches(key.key, ctx, entry, text);
    case 'or':
      return matches(key.a, ctx, entry, text) || matches(key.b, ctx, entry, text);
    case 'and':
      return key.keys.every((k) => matches(k, ctx, entry, text));
  }
}

async function search(s: Session, c: Extract<Command, { name: 'SEARCH' }>) {
  if (c.charset !== null && !CHARSETS.has(c.charset.toUpperCase())) {
    return no(`The charset ${c.charset.slice(0, 40)} is not supported.`, 'BADCHARSET (UTF-8 US-ASCII)');
  }
  const sel = s.sel;
  const view = sel.view;
  const need = needs(c.criteria);
  const ctx: Context = { view, sets: new WeakMap() };
  const found: number[] = [];
  const uids = [...view.allUids()];
  const { store } = s.deps;
  for (let i = 0; i < uids.length; i += BATCH) {
    const batch = uids.slice(i, i + BATCH);
    const raws = need.body ? await store.getRaws(sel.ref.scope, batch) : need.header ? await store.getHeaders(sel.ref.scope, batch) : null;
    for (const uid of batch) {
      const entry = view.entry(uid);
      if (!entry) continue;
      let text: Searchable | null = null;
      if (raws) {
        const raw = raws.get(uid);
        if (!raw) continue; // expunged elsewhere, not yet announced
        text = new Searchable(raw, !need.body);
      }
      if (matches(c.criteria, ctx, entry, text)) found.push(c.uid ? uid : view.seqOf(uid));
    }
  }
  s.untagged(found.length > 0 ? `SEARCH ${found.join(' ')}` : 'SEARCH');
  return ok(c.uid ? 'UID SEARCH completed' : 'SEARCH completed');
}

export const searchCommands = [
  command('SEARCH', { states: SELECTED, expunges: false, handle: search }),
  command('SEARCH', { states: SELECTED, expunges: true, handle: search }, true),
];
