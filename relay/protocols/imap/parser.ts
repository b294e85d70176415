// A whole command (as the framer delivers it) → a typed Command, or an error as data. Pure: no
// state, no I/O; everything it returns is bounded by the bytes it was given.
import type { Command, DateOnly, FetchAtt, SearchKey, Section, SeqNumber, SequenceSet, StatusItem } from './ast.ts';

export type ParseResult = { ok: true; command: Command } | { ok: false; tag: string | null; text: string; name?: string };

class ParseError extends Error {}

const SP = 0x20;
const CR = 0x0d;
const LF = 0x0a;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** atom-specials: ( ) { SP CTL % * " \ ] */
function isAtomChar(b: number): boolean {
  if (b <= 0x20 || b === 0x7f) return false;
  return b !== 0x28 && b !== 0x29 && b !== 0x7b && b !== 0x25 && b !== 0x2a && b !== DQUOTE && b !== BACKSLASH && b !== 0x5d;
}

/** ASTRING-CHAR: an atom char, or ']'. */
const isAstringChar = (b: number) => isAtomChar(b) || b === 0x5d;
/** list-char: an atom char, a wildcard, or ']'. */
const isListChar = (b: number) => isAstringChar(b) || b === 0x25 || b === 0x2a;

export const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** Deeper NOT/OR/parenthesis nesting than any client sends. */
const MAX_SEARCH_DEPTH = 64;
const MAX_SEARCH_KEYS = 1000;

class Reader {
  pos = 0;
  searchKeys = 0;

  constructor(readonly buf: Buffer) {}

  fail(what: string): never {
    throw new ParseError(what);
  }

  peek(): number {
    return this.pos < this.buf.length ? this.buf[this.pos]! : -1;
  }

  atEnd(): boolean {
    return this.pos >= this.buf.length;
  }

  end(): void {
    if (!this.atEnd()) this.fail('Unexpected characters at the end of the command');
  }

  sp(): void {
    if (this.peek() !== SP) this.fail('Expected a space');
    this.pos++;
  }

  /** Consumes a space when one follows. */
  maybeSp(): boolean {
    if (this.peek() !== SP) return false;
    this.pos++;
    return true;
  }

  char(c: string): void {
    if (this.peek() !== c.charCodeAt(0)) this.fail(`Expected "${c}"`);
    this.pos++;
  }

  maybeChar(c: string): boolean {
    if (this.peek() !== c.charCodeAt(0)) return false;
    this.pos++;
    return true;
  }

  while(pred: (b: number) => boolean): string {
    const start = this.pos;
    while (this.pos < this.buf.length && pred(this.buf[this.pos]!)) this.pos++;
    return this.buf.toString('utf8', start, this.pos);
  }

  atom(what = 'an atom'): string {
    const s = this.while(isAtomChar);
    if (!s) this.fail(`Expected ${what}`);
    return s;
  }

  /** A keyword (command name, search key, ...), uppercased. */
  keyword(what = 'a keyword'): string {
    return this.atom(what).toUpperCase();
  }

  number(what = 'a number'): number {
    const s = this.while((b) => b >= 0x30 && b <= 0x39);
    if (!s || s.length > 10) this.fail(`Expected ${what}`);
    const n = Number(s);
    if (n > 0xffffffff) this.fail(`${what} is too large`);
    return n;
  }

  nzNumber(what = 'a number'): number {
    const n = this.number(what);
    if (n === 0) this.fail(`${what} must not be zero`);
    return n;
  }

  quoted(): Buffer {
    this.char('"');
    const out: number[] = [];
    for (;;) {
      const b = this.peek();
      if (b === -1 || b === CR || b === LF) this.fail('Unterminated quoted string');
      this.pos++;
      if (b === DQUOTE) break;
      if (b === BACKSLASH) {
        const next = this.peek();
        if (next !== DQUOTE && next !== BACKSLASH) this.fail('Only \\" and \\\\ may be escaped in a quoted string');
        this.pos++;
        out.push(next);
      } else out.push(b);
    }
    return Buffer.from(out);
  }

  literal(): Buffer {
    this.char('{');
    const size = this.number('a literal size');
    this.maybeChar('+');
    this.char('}');
    if (this.peek() !== CR || this.buf[this.pos + 1] !== LF) this.fail('Expected CRLF after a literal size');
    this.pos += 2;
    if (this.pos + size > this.buf.length) this.fail('The literal is shorter than announced');
    const data = this.buf.subarray(this.pos, this.pos + size);
    this.pos += size;
    return data;
  }

  string(): Buffer {
    const b = this.peek();
    if (b === DQUOTE) return this.quoted();
    if (b === 0x7b) return this.literal();
    return this.fail('Expected a string');
  }

  astringBytes(): Buffer {
    const b = this.peek();
    if (b === DQUOTE || b === 0x7b) return this.string();
    const start = this.pos;
    this.while(isAstringChar);
    if (this.pos === start) this.fail('Expected a string or atom');
    return this.buf.subarray(start, this.pos);
  }

  astring(): string {
    return this.astringBytes().toString('utf8');
  }

  nstring(): string | null {
    if (this.peekWord('NIL')) {
      this.pos += 3;
      return null;
    }
    return this.string().toString('utf8');
  }

  /** True when the next characters are `word` (case-insensitive) followed by a non-atom char. */
  peekWord(word: string): boolean {
    const s = this.buf.toString('latin1', this.pos, this.pos + word.length);
    if (s.toUpperCase() !== word) return false;
    const after = this.buf[this.pos + word.length];
    return after === undefined || !isAtomChar(after);
  }

  listMailbox(): string {
    const b = this.peek();
    if (b === DQUOTE || b === 0x7b) return this.string().toString('utf8');
    const s = this.while(isListChar);
    if (!s) this.fail('Expected a mailbox pattern');
    return s;
  }

  seqNumber(): SeqNumber {
    if (this.maybeChar('*')) return '*';
    return this.nzNumber('a message number');
  }

  sequenceSet(): SequenceSet {
    const set: SequenceSet = [];
    do {
      const from = this.seqNumber();
      const to = this.maybeChar(':') ? this.seqNumber() : from;
      set.push({ from, to });
      if (set.length > 100_000) this.fail('The sequence set is too long');
    } while (this.maybeChar(','));
    return set;
  }

  flag(): string {
    if (this.maybeChar('\\')) {
      if (this.maybeChar('*')) return '\\*';
      return `\\${this.atom('a flag name')}`;
    }
    return this.atom('a flag');
  }

  flagList(): string[] {
    this.char('(');
    const flags: string[] = [];
    if (this.maybeChar(')')) return flags;
    do flags.push(this.flag());
    while (this.maybeSp());
    this.char(')');
    return flags;
  }

  dateText(): DateOnly {
    const quoted = this.maybeChar('"');
    const day = this.number('a day');
    this.char('-');
    const monthName = this.while((b) => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)).toUpperCase();
    const month = MONTHS.indexOf(monthName) + 1;
    if (month === 0) this.fail('Expected a month such as Jan');
    this.char('-');
    const year = this.number('a year');
    if (quoted) this.char('"');
    if (day < 1 || day > 31 || year < 1 || year > 9999) this.fail('Invalid date');
    return { year, month, day };
  }

  /** "dd-Mon-yyyy hh:mm:ss +zzzz" */
  dateTime(): Date {
    this.char('"');
    this.maybeSp(); // date-day-fixed: a leading space for days 1–9
    const { year, month, day } = this.dateText();
    this.sp();
    const time = this.buf.toString('latin1', this.pos, this.pos + 8);
    const t = /^(\d\d):(\d\d):(\d\d)$/.exec(time);
    if (!t) this.fail('Expected a time hh:mm:ss');
    this.pos += 8;
    this.sp();
    const zone = /^([+-])(\d\d)(\d\d)$/.exec(this.buf.toString('latin1', this.pos, this.pos + 5));
    if (!zone) this.fail('Expected a time zone such as +0100');
    this.pos += 5;
    this.char('"');
    const offset = (zone[1] === '-' ? -1 : 1) * (Number(zone[2]) * 60 + Number(zone[3]));
    const ms = Date.UTC(year, month - 1, day, Number(t[1]), Number(t[2]), Number(t[3])) - offset * 60_000;
    const date = new Date(ms);
    if (Number.isNaN(date.getTime()) || Number(t[1]) > 23 || Number(t[2]) > 59 || Number(t[3]) > 60) this.fail('Invalid date-time');
    return date;
  }
}

// ------------------------------------------------------------------------------------- FETCH

const FETCH_SIMPLE = new Set(['FLAGS', 'UID', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODYSTRUCTURE', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT']);

function section(r: Reader): Section {
  r.char('[');
  const part: number[] = [];
  let text: Section['text'] = null;
  let fields: string[] = [];
  if (!r.maybeChar(']')) {
    const b = r.peek();
    let textFollows = true;
    if (b >= 0x30 && b <= 0x39) {
      part.push(r.nzNumber('a part number'));
      textFollows = false;
      while (r.maybeChar('.')) {
        const c = r.peek();
        if (c >= 0x30 && c <= 0x39) {
          part.push(r.nzNumber('a part number'));
          if (part.length > 64) r.fail('Too many part numbers');
        } else {
          textFollows = true;
          break;
        }
      }
    }
    if (textFollows) {
      const name = r.while((c) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2e).toUpperCase();
      if (name === 'HEADER' || name === 'TEXT' || name === 'HEADER.FIELDS' || name === 'HEADER.FIELDS.NOT') text = name;
      else if (name === 'MIME' && part.length > 0) text = 'MIME';
      else r.fail(`Unknown section "${name}"`);
      if (text === 'HEADER.FIELDS' || text === 'HEADER.FIELDS.NOT') {
        r.sp();
        r.char('(');
        fields = [];
        do {
          fields.push(r.astring());
          if (fields.length > 500) r.fail('Too many header fields');
        } while (r.maybeSp());
        r.char(')');
      }
    }
    r.char(']');
  }
  return { part, text, fields };
}

function fetchAtt(r: Reader): FetchAtt {
  const name = r.while((c) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e).toUpperCase();
  if (name === 'BODY' || name === 'BODY.PEEK') {
    if (r.peek() !== 0x5b) {
      if (name === 'BODY.PEEK') r.fail('BODY.PEEK needs a section');
      return { kind: 'BODY' };
    }
    const sec = section(r);
    let partial: { start: number; length: number } | null = null;
    if (r.maybeChar('<')) {
      const start = r.number('a partial start');
      r.char('.');
      const length = r.nzNumber('a partial length');
      r.char('>');
      partial = { start, length };
    }
    return { kind: 'BODY[]', peek: name === 'BODY.PEEK', section: sec, partial };
  }
  if (FETCH_SIMPLE.has(name)) return { kind: name as 'FLAGS' };
  return r.fail(name ? `Unknown FETCH item ${name}` : 'Expected a FETCH item');
}

const MACROS: Record<string, FetchAtt['kind'][]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

function fetchItems(r: Reader): { items: FetchAtt[]; macro: boolean } {
  if (r.maybeChar('(')) {
    const items: FetchAtt[] = [];
    do {
      items.push(fetchAtt(r));
      if (items.length > 200) r.fail('Too many FETCH items');
    } while (r.maybeSp());
    r.char(')');
    return { items, macro: false };
  }
  for (const [macro, kinds] of Object.entries(MACROS)) {
    if (r.peekWord(macro)) {
      r.pos += macro.length;
      return { items: kinds.map((kind) => ({ kind }) as FetchAtt), macro: true };
    }
  }
  return { items: [fetchAtt(r)], macro: false };
}

// ------------------------------------------------------------------------------------ SEARCH

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
};

const HEADER_KEYS: Record<string, string> = { BCC: 'bcc', CC: 'cc', FROM: 'from', SUBJECT: 'subject', TO: 'to' };

const DATE_KEYS: Record<string, ['internal' | 'sent', 'before' | 'on' | 'since']> = {
  BEFORE: ['internal', 'before'],
  ON: ['internal', 'on'],
  SINCE: ['internal', 'since'],
  SENTBEFORE: ['sent', 'before'],
  SENTON: ['sent', 'on'],
  SENTSINCE: ['sent', 'since'],
};

function searchKey(r: Reader, depth: number): SearchKey {
  if (depth > MAX_SEARCH_DEPTH) r.fail('The search is nested too deeply');
  if (++r.searchKeys > MAX_SEARCH_KEYS) r.fail('The search has too many keys');
  const b = r.peek();
  if (b === 0x28) {
    r.pos++;
    const keys: SearchKey[] = [];
    do keys.push(searchKey(r, depth + 1));
    while (r.maybeSp());
    r.char(')');
    return keys.length === 1 ? keys[0]! : { kind: 'and', keys };
  }
  if ((b >= 0x30 && b <= 0x39) || b === 0x2a) return { kind: 'seq', set: r.sequenceSet() };
  const key = r.keyword('a search key');
  const text = () => {
    r.sp();
    return r.astring();
  };
  const flag = FLAG_KEYS[key];
  if (flag) return { kind: 'flag', flag: flag[0], set: flag[1] };
  const header = HEADER_KEYS[key];
  if (header) return { kind: 'header', field: header, value: text() };
  const date = DATE_KEYS[key];
  if (date) {
    r.sp();
    return { kind: 'date', of: date[0], op: date[1], date: r.dateText() };
  }
  switch (key) {
    case 'ALL':
      return { kind: 'all' };
    case 'NEW':
      return { kind: 'new' };
    case 'OLD':
      return { kind: 'old' };
    case 'RECENT':
      return { kind: 'recent' };
    case 'KEYWORD':
    case 'UNKEYWORD':
      r.sp();
      return { kind: 'flag', flag: r.flag(), set: key === 'KEYWORD' };
    case 'HEADER': {
      const field = text();
      return { kind: 'header', field: field.toLowerCase(), value: text() };
    }
    case 'BODY':
      return { kind: 'body', value: text() };
    case 'TEXT':
      return { kind: 'text', value: text() };
    case 'LARGER':
    case 'SMALLER':
      r.sp();
      return { kind: 'size', op: key === 'LARGER' ? 'larger' : 'smaller', size: r.number('a size') };
    case 'UID':
      r.sp();
      return { kind: 'uid', set: r.sequenceSet() };
    case 'NOT':
      r.sp();
      return { kind: 'not', key: searchKey(r, depth + 1) };
    case 'OR': {
      r.sp();
      const a = searchKey(r, depth + 1);
      r.sp();
      return { kind: 'or', a, b: searchKey(r, depth + 1) };
    }
    default:
      return r.fail(`Unknown search key ${key}`);
  }
}

function searchArgs(r: Reader): { charset: string | null; criteria: SearchKey } {
  let charset: string | null = null;
  if (r.peekWord('CHARSET')) {
    r.pos += 7;
    r.sp();
    charset = r.astring();
    r.sp();
  }
  const keys: SearchKey[] = [];
  do keys.push(searchKey(r, 0));
  while (r.maybeSp());
  return { charset, criteria: keys.length === 1 ? keys[0]! : { kind: 'and', keys } };
}

// ---------------------------------------------------------------------------------- commands

const STATUS_ITEMS = new Set<StatusItem>(['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN']);

type Grammar = (r: Reader, tag: string) => Command;

function storeArgs(r: Reader) {
  const what = r.keyword('+FLAGS, -FLAGS or FLAGS');
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(what);
  if (!m) r.fail('Expected FLAGS, +FLAGS or -FLAGS');
  r.sp();
  let flags: string[];
  if (r.peek() === 0x28) flags = r.flagList();
  else {
    flags = [];
    do flags.push(r.flag());
    while (r.maybeSp());
  }
  const mode = m[1] === '+' ? ('add' as const) : m[1] === '-' ? ('remove' as const) : ('replace' as const);
  return { mode, silent: Boolean(m[2]), flags };
}

const GRAMMARS: Record<string, Grammar> = {};
for (const name of ['CAPABILITY', 'NOOP', 'LOGOUT', 'STARTTLS', 'CHECK', 'CLOSE', 'UNSELECT', 'IDLE', 'NAMESPACE'] as const) {
  GRAMMARS[name] = (_r, tag) => ({ tag, name });
}
GRAMMARS.EXPUNGE = (_r, tag) => ({ tag, name: 'EXPUNGE', uid: false });
GRAMMARS.LOGIN = (r, tag) => {
  r.sp();
  const user = r.astring();
  r.sp();
  return { tag, name: 'LOGIN', user, password: r.astring() };
};
GRAMMARS.AUTHENTICATE = (r, tag) => {
  r.sp();
  const mechanism = r.keyword('a mechanism');
  let initial: string | null = null;
  if (r.maybeSp()) initial = r.while((b) => /[A-Za-z0-9+/=]/.test(String.fromCharCode(b)));
  return { tag, name: 'AUTHENTICATE', mechanism, initial };
};
for (const name of ['SELECT', 'EXAMINE', 'CREATE', 'DELETE', 'SUBSCRIBE', 'UNSUBSCRIBE'] as const) {
  GRAMMARS[name] = (r, tag) => {
    r.sp();
    const mailbox = r.astring();
    if ((name === 'SELECT' || name === 'EXAMINE') && r.peek() === SP) r.fail(`${name} parameters are not supported`);
    return { tag, name, mailbox };
  };
}
GRAMMARS.RENAME = (r, tag) => {
  r.sp();
  const mailbox = r.astring();
  r.sp();
  return { tag, name: 'RENAME', mailbox, to: r.astring() };
};
for (const name of ['LIST', 'LSUB'] as const) {
  GRAMMARS[name] = (r, tag) => {
    r.sp();
    if (r.peek() === 0x28) r.fail('LIST selection options are not supported');
    const reference = r.astring();
    r.sp();
    const pattern = r.listMailbox();
    if (r.peek() === SP) r.fail('LIST return options are not supported');
    return { tag, name, reference, pattern };
  };
}
GRAMMARS.STATUS = (r, tag) => {
  r.sp();
  const mailbox = r.astring();
  r.sp();
  r.char('(');
  const items: StatusItem[] = [];
  do {
    const item = r.keyword('a status item') as StatusItem;
    if (!STATUS_ITEMS.has(item)) r.fail(`Unknown status item ${item}`);
    items.push(item);
  } while (r.maybeSp());
  r.char(')');
  return { tag, name: 'STATUS', mailbox, items };
};
GRAMMARS.APPEND = (r, tag) => {
  r.sp();
  const mailbox = r.astring();
  r.sp();
  let flags: string[] = [];
  let date: Date | null = null;
  if (r.peek() === 0x28) {
    flags = r.flagList();
    r.sp();
  }
  if (r.peek() === DQUOTE) {
    date = r.dateTime();
    r.sp();
  }
  if (r.peek() !== 0x7b) r.fail('APPEND needs the message as a literal');
  const message = r.literal();
  if (r.peek() === SP) r.fail('Appending several messages at once is not supported');
  return { tag, name: 'APPEND', mailbox, flags, date, message };
};
GRAMMARS.ENABLE = (r, tag) => {
  const capabilities: string[] = [];
  while (r.maybeSp()) capabilities.push(r.keyword('a capability'));
  if (capabilities.length === 0) r.fail('ENABLE needs at least one capability');
  return { tag, name: 'ENABLE', capabilities };
};
GRAMMARS.ID = (r, tag) => {
  r.sp();
  if (r.peekWord('NIL')) {
    r.pos += 3;
    return { tag, name: 'ID', params: null };
  }
  r.char('(');
  const params: [string, string | null][] = [];
  if (!r.maybeChar(')')) {
    do {
      const key = r.string().toString('utf8');
      r.sp();
      params.push([key, r.nstring()]);
      if (params.length > 30) r.fail('Too many ID fields');
    } while (r.maybeSp());
    r.char(')');
  }
  return { tag, name: 'ID', params };
};

function selectedGrammars(uid: boolean): Record<string, Grammar> {
  return {
    FETCH: (r, tag) => {
      r.sp();
      const set = r.sequenceSet();
      r.sp();
      const { items, macro } = fetchItems(r);
      if (r.peek() === SP) r.fail('FETCH modifiers are not supported');
      return { tag, name: 'FETCH', uid, set, items, macro };
    },
    STORE: (r, tag) => {
      r.sp();
      const set = r.sequenceSet();
      r.sp();
      if (r.peek() === 0x28) r.fail('STORE modifiers are not supported');
      return { tag, name: 'STORE', uid, set, ...storeArgs(r) };
    },
    SEARCH: (r, tag) => {
      r.sp();
      if (r.peekWord('RETURN')) r.fail('SEARCH RETURN options are not supported');
      return { tag, name: 'SEARCH', uid, ...searchArgs(r) };
    },
    COPY: (r, tag) => {
      r.sp();
      const set = r.sequenceSet();
      r.sp();
      return { tag, name: 'COPY', uid, set, mailbox: r.astring() };
    },
    MOVE: (r, tag) => {
      r.sp();
      const set = r.sequenceSet();
      r.sp();
      return { tag, name: 'MOVE', uid, set, mailbox: r.astring() };
    },
  };
}

const PLAIN = selectedGrammars(false);
const UID = selectedGrammars(true);
UID.EXPUNGE = (r, tag) => {
  r.sp();
  return { tag, name: 'EXPUNGE', uid: true, set: r.sequenceSet() };
};
Object.assign(GRAMMARS, PLAIN);

/** Whether the server knows this command name (for "unknown command" versus "bad arguments"). */
export function isKnownCommand(name: string): boolean {
  return name in GRAMMARS || name === 'UID';
}

export function parseCommand(bytes: Buffer): ParseResult {
  const r = new Reader(bytes);
  let tag: string | null = null;
  let name: string | undefined;
  try {
    const t = r.while((b) => isAstringChar(b) && b !== 0x2b);
    if (!t || (r.peek() !== SP && !r.atEnd())) return { ok: false, tag: null, text: 'Expected a tag' };
    tag = t;
    if (!r.maybeSp()) return { ok: false, tag, text: 'Expected a command after the tag' };
    name = r.keyword('a command');
    let grammar = GRAMMARS[name];
    if (name === 'UID') {
      r.sp();
      const sub = r.keyword('a UID command');
      grammar = UID[sub];
      name = `UID ${sub}`;
      if (!grammar) return { ok: false, tag, text: `Unknown command ${name}`, name };
    }
    if (!grammar) return { ok: false, tag, text: `Unknown command ${name.slice(0, 40)}`, name };
    const command = grammar(r, tag);
    r.end();
    return { ok: true, command };
  } catch (err) {
    if (err instanceof ParseError) {
      return { ok: false, tag, text: name ? `${name}: ${err.message}` : err.message, ...(name ? { name } : {}) };
    }
    throw err;
  }
}
