// ENVELOPE and BODYSTRUCTURE (RFC 3501 §7.4.2) built from the MIME tree, with a small RFC 5322
// address-list parser of our own. Values stay byte strings, as the message holds them.
import { Run } from './encoder.ts';
import type { Value } from './encoder.ts';
import { countLines, headerValue, parseParams } from './mime.ts';
import type { HeaderField, MimePart } from './mime.ts';

type Token = { kind: 'word' | 'quoted'; text: string } | { kind: 'special'; text: string };

function tokenize(value: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < value.length && tokens.length < 10_000) {
    const c = value[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
    } else if (c === '(') {
      let depth = 0;
      for (; i < value.length; i++) {
        const d = value[i];
        if (d === '\\') i++;
        else if (d === '(') depth++;
        else if (d === ')' && --depth === 0) break;
      }
      i++;
    } else if (c === '"') {
      let text = '';
      for (i++; i < value.length && value[i] !== '"'; i++) {
        if (value[i] === '\\' && i + 1 < value.length) i++;
        text += value[i];
      }
      i++;
      tokens.push({ kind: 'quoted', text });
    } else if (c === '[') {
      const close = value.indexOf(']', i);
      const stop = close === -1 ? value.length : close + 1;
      tokens.push({ kind: 'word', text: value.slice(i, stop) });
      i = stop;
    } else if ('<>:;@,'.includes(c)) {
      tokens.push({ kind: 'special', text: c });
      i++;
    } else {
      let j = i;
      while (j < value.length && !' \t\r\n()"[<>:;@,'.includes(value[j]!)) j++;
      tokens.push({ kind: 'word', text: value.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

/** One address of an ENVELOPE: (name adl mailbox host); a group is marked by a NIL host. */
export interface Address {
  name: string | null;
  adl: string | null;
  mailbox: string | null;
  host: string | null;
}

const isSpecial = (t: Token | undefined, c: string) => t?.kind === 'special' && t.text === c;

function phrase(tokens: Token[]): string | null {
  const words = tokens.filter((t) => t.kind !== 'special' || t.text === '@').map((t) => t.text);
  const s = words.join(' ').trim();
  return s || null;
}

function addrSpec(tokens: Token[]): { adl: string | null; mailbox: string | null; host: string | null } {
  let route: string | null = null;
  let rest = tokens;
  // Obsolete source route: @a,@b:local@domain
  const colon = tokens.findIndex((t) => isSpecial(t, ':'));
  if (isSpecial(tokens[0], '@') && colon !== -1) {
    route = tokens
      .slice(0, colon)
      .map((t) => t.text)
      .join('');
    rest = tokens.slice(colon + 1);
  }
  const at = rest.map((t) => isSpecial(t, '@')).lastIndexOf(true);
  const local = (at === -1 ? rest : rest.slice(0, at)).map((t) => (t.kind === 'quoted' ? `"${t.text}"` : t.text)).join('');
  const domain = at === -1 ? '' : rest.slice(at + 1).map((t) => t.text).join('');
  return { adl: route, mailbox: local || null, host: domain };
}

function mailbox(tokens: Token[]): Address | null {
  if (tokens.length === 0) return null;
  const open = tokens.findIndex((t) => isSpecial(t, '<'));
  if (open !== -1) {
    const close = tokens.findIndex((t, i) => i > open && isSpecial(t, '>'));
    const inner = tokens.slice(open + 1, close === -1 ? tokens.length : close);
    return { name: phrase(tokens.slice(0, open)), ...addrSpec(inner) };
  }
  return { name: null, ...addrSpec(tokens) };
}

// The shapes nearly every header has, read without the general tokenizer.
const BARE = /^([^\s"(),:;<>@[\]\\]+)@([^\s"(),:;<>@[\]\\]+)$/;
const NAMED = /^(?:"((?:[^"\\]|\\.)*)"|([^"(),:;<>@[\]\\]*?))\s*<([^\s"(),:;<>@[\]\\]+)@([^\s"(),:;<>@[\]\\]+)>$/;

/** An address-list header value → ENVELOPE addresses, groups included. */
export function parseAddresses(value: string): Address[] {
  const bare = BARE.exec(value);
  if (bare) return [{ name: null, adl: null, mailbox: bare[1]!, host: bare[2]! }];
  const named = NAMED.exec(value);
  if (named) {
    const name = (named[1] !== undefined ? named[1].replace(/\\(.)/g, '$1') : named[2]!).trim();
    return [{ name: name || null, adl: null, mailbox: named[3]!, host: named[4]! }];
  }
  const tokens = tokenize(value);
  const out: Address[] = [];
  let current: Token[] = [];
  let inGroup = false;
  let inAngle = false;
  const flush = () => {
    const a = mailbox(current);
    if (a && (a.mailbox !== null || a.name !== null)) out.push(a);
    current = [];
  };
  for (const t of tokens) {
    if (t.kind === 'special') {
      if (t.text === '<') inAngle = true;
      else if (t.text === '>') inAngle = false;
      else if (!inAngle && t.text === ',') {
        flush();
        continue;
      } else if (!inAngle && t.text === ':' && !inGroup) {
        out.push({ name: null, adl: null, mailbox: phrase(current) ?? '', host: null });
        current = [];
        inGroup = true;
        continue;
      } else if (!inAngle && t.text === ';' && inGroup) {
        flush();
        out.push({ name: null, adl: null, mailbox: null, host: null });
        inGroup = false;
        continue;
      }
    }
    current.push(t);
    if (out.length > 5000) break;
  }
  flush();
  if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null });
  return out;
}

function addressList(fields: HeaderField[], name: string): Value {
  const value = headerValue(fields, name);
  if (value === undefined) return null;
  const list = parseAddresses(value);
  if (list.length === 0) return null;
  return [new Run(list.map((a) => [a.name, a.adl, a.mailbox, a.host]))];
}

const nstring = (v: string | undefined): Value => (v === undefined || v === '' ? null : v);

/** ENVELOPE of a message header (RFC 3501 §7.4.2). */
export function envelope(fields: HeaderField[]): Value {
  const from = addressList(fields, 'from');
  const sender = addressList(fields, 'sender') ?? from;
  const replyTo = addressList(fields, 'reply-to') ?? from;
  return [
    nstring(headerValue(fields, 'date')),
    nstring(headerValue(fields, 'subject')),
    from,
    sender,
    replyTo,
    addressList(fields, 'to'),
    addressList(fields, 'cc'),
    addressList(fields, 'bcc'),
    nstring(headerValue(fields, 'in-reply-to')),
    nstring(headerValue(fields, 'message-id')),
  ];
}

function paramList(params: [string, string][]): Value {
  return params.length === 0 ? null : params.flat();
}

function disposition(part: MimePart): Value {
  const header = headerValue(part.headers, 'content-disposition');
  if (!header) return null;
  const { value, params } = parseParams(header);
  return value ? [value, paramList(params)] : null;
}

function language(part: MimePart): Value {
  const header = headerValue(part.headers, 'content-language');
  if (!header) return null;
  const tags = header
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return tags.length === 0 ? null : tags.length === 1 ? tags[0]! : tags;
}

/** BODYSTRUCTURE (extensible) or BODY (not) of a part. */
export function bodyStructure(raw: Buffer, part: MimePart, extensible: boolean): Value {
  if (part.children.length > 0) {
    const out: Value[] = [new Run(part.children.map((c) => bodyStructure(raw, c, extensible))), part.subtype];
    if (extensible) out.push(paramList(part.params), disposition(part), language(part), nstring(headerValue(part.headers, 'content-location')));
    return out;
  }
  const encoding = headerValue(part.headers, 'content-transfer-encoding')?.trim().toUpperCase() || '7BIT';
  const out: Value[] = [
    part.type,
    part.subtype,
    paramList(part.params),
    nstring(headerValue(part.headers, 'content-id')),
    nstring(headerValue(part.headers, 'content-description')),
    encoding,
    part.end - part.bodyStart,
  ];
  if (part.message && part.subtype === 'rfc822') {
    out.push(envelope(part.message.headers), bodyStructure(raw, part.message, extensible), countLines(raw, part.bodyStart, part.end));
  } else if (part.type === 'text') {
    out.push(countLines(raw, part.bodyStart, part.end));
  }
  if (extensible) {
    out.push(nstring(headerValue(part.headers, 'content-md5')), disposition(part), language(part), nstring(headerValue(part.headers, 'content-location')));
  }
  return out;
}
