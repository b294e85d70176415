// A small MIME tree parser over the raw bytes, keeping byte offsets (which mailparser does not
// give): BODYSTRUCTURE, BODY[section] and SEARCH read from it. Bounded (depth, parts, header
// fields) and tolerant: malformed mail still yields a tree, never an exception.
import { headerBlockEnd } from '../../core/header.ts';

export interface HeaderField {
  /** The name as written. */
  name: string;
  lower: string;
  /** Byte range of the whole field, continuation lines and line ending included. */
  start: number;
  end: number;
  /** Unfolded and trimmed, one char per byte (latin1): encoded words and 8-bit bytes stay as sent. */
  value: string;
}

export interface MimePart {
  /** Where the part's header starts, where its body starts, and where the body ends. */
  start: number;
  bodyStart: number;
  end: number;
  headers: HeaderField[];
  /** Lowercase; text/plain when absent or unreadable. */
  type: string;
  subtype: string;
  params: [string, string][];
  /** For multipart/*: the parts, at least one. */
  children: MimePart[];
  /** For message/rfc822 (and message/global): the enclosed message. */
  message: MimePart | null;
}

const LF = 0x0a;
const CR = 0x0d;
const MAX_DEPTH = 24;
const MAX_PARTS = 2000;
const MAX_FIELDS = 2000;

/** A field name: printable ASCII but the colon (RFC 5322 ftext), at least one. A loop, no regex. */
function isFieldName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x3a) return false;
  }
  return true;
}

/** Parses the header block at `start`: its fields and where the body begins. */
export function parseHeader(raw: Buffer, start = 0, end = raw.length): { fields: HeaderField[]; bodyStart: number } {
  const bodyStart = headerBlockEnd(raw, start, end);
  return { fields: parseFields(raw, start, bodyStart), bodyStart };
}

/** The fields of the header block raw[start, bodyStart), where bodyStart is where headerBlockEnd puts it. */
export function parseFields(raw: Buffer, start: number, bodyStart: number): HeaderField[] {
  // latin1: one char per byte, so string offsets are byte offsets (plus `start`).
  const text = raw.toString('latin1', start, bodyStart);
  const fields: HeaderField[] = [];
  let current: HeaderField | null = null;
  let value = '';
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    const lineEnd = nl === -1 ? text.length : nl + 1;
    if (nl === -1) nl = text.length;
    const contentEnd = nl > pos && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
    if (contentEnd === pos && lineEnd > nl) break; // the blank line
    const first = text.charCodeAt(pos);
    if ((first === 0x20 || first === 0x09) && current) {
      current.end = start + lineEnd;
      value += text.slice(pos, contentEnd);
    } else {
      if (current) addField(fields, current, value);
      current = null;
      const colon = text.indexOf(':', pos);
      if (colon !== -1 && colon < contentEnd) {
        const name = text.slice(pos, colon).trimEnd();
        if (isFieldName(name)) {
          current = { name, lower: name.toLowerCase(), start: start + pos, end: start + lineEnd, value: '' };
          value = text.slice(colon + 1, contentEnd);
        }
      }
    }
    pos = lineEnd;
  }
  if (current) addField(fields, current, value);
  return fields;
}

function addField(fields: HeaderField[], field: HeaderField, value: string): void {
  if (fields.length >= MAX_FIELDS) return;
  // Unfolding: the line breaks go, the white space that began each continuation stays.
  field.value = value.trim();
  fields.push(field);
}

/** The first field named `lower`, or undefined. */
export function headerValue(fields: HeaderField[], lower: string): string | undefined {
  for (const f of fields) if (f.lower === lower) return f.value;
  return undefined;
}

/** Skips RFC 5322 comments (nested parentheses) outside quoted strings. */
export function stripComments(value: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted) {
      out += c;
      if (c === '\\' && i + 1 < value.length) out += value[++i];
      else if (c === '"') quoted = false;
    } else if (depth > 0) {
      if (c === '\\') i++;
      else if (c === '(') depth++;
      else if (c === ')') depth--;
    } else if (c === '(') depth++;
    else {
      if (c === '"') quoted = true;
      out += c;
    }
  }
  return out;
}

/** `type/subtype; a=b; c="d"` → the value and its parameters (names lowercase, values as sent). */
export function parseParams(value: string): { value: string; params: [string, string][] } {
  const text = stripComments(value);
  const params: [string, string][] = [];
  let i = text.indexOf(';');
  const main = (i === -1 ? text : text.slice(0, i)).trim();
  while (i !== -1 && i < text.length && params.length < 100) {
    i++;
    while (i < text.length && /\s/.test(text[i]!)) i++;
    const eq = text.indexOf('=', i);
    const semi = text.indexOf(';', i);
    if (eq === -1 || (semi !== -1 && semi < eq)) {
      i = semi;
      continue;
    }
    const name = text.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (i < text.length && /\s/.test(text[i]!)) i++;
    let val = '';
    if (text[i] === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        val += text[i];
        i++;
      }
      i = text.indexOf(';', i);
    } else {
      const stop = text.indexOf(';', i);
      val = (stop === -1 ? text.slice(i) : text.slice(i, stop)).trim();
      i = stop;
    }
    if (name && /^[\x21-\x7e]+$/.test(name)) params.push([name, val]);
  }
  return { value: main, params };
}

interface Budget {
  parts: number;
}

function contentType(fields: HeaderField[], digest: boolean): { type: string; subtype: string; params: [string, string][] } {
  const header = headerValue(fields, 'content-type');
  if (header !== undefined) {
    const { value, params } = parseParams(header);
    const m = /^([!#$%&'*+\-.^_`|~0-9a-z]+)\/([!#$%&'*+\-.^_`|~0-9a-z]+)$/i.exec(value);
    if (m) return { type: m[1]!.toLowerCase(), subtype: m[2]!.toLowerCase(), params };
  }
  if (digest) return { type: 'message', subtype: 'rfc822', params: [] };
  return { type: 'text', subtype: 'plain', params: [['charset', 'us-ascii']] };
}

/** Parses the message (or part) in raw[start, end). */
export function parseMime(raw: Buffer, start = 0, end = raw.length): MimePart {
  return parsePart(raw, start, end, 0, { parts: 0 }, false);
}

function parsePart(raw: Buffer, start: number, end: number, depth: number, budget: Budget, digest: boolean): MimePart {
  budget.parts++;
  const { fields, bodyStart } = parseHeader(raw, start, end);
  const ct = contentType(fields, digest);
  const part: MimePart = { start, bodyStart, end, headers: fields, ...ct, children: [], message: null };
  if (depth >= MAX_DEPTH || budget.parts >= MAX_PARTS) {
    if (part.type === 'multipart' || part.type === 'message') Object.assign(part, { type: 'application', subtype: 'octet-stream', params: [] });
    return part;
  }
  if (part.type === 'multipart') {
    const boundary = part.params.find(([k]) => k === 'boundary')?.[1];
    const ranges = boundary ? splitMultipart(raw, bodyStart, end, boundary) : [];
    if (ranges.length === 0) {
      // No usable boundary: shown as the plain text it effectively is.
      Object.assign(part, { type: 'text', subtype: 'plain', params: [] });
      return part;
    }
    for (const [s, e] of ranges) {
      if (budget.parts >= MAX_PARTS) break;
      part.children.push(parsePart(raw, s, e, depth + 1, budget, part.subtype === 'digest'));
    }
  } else if (part.type === 'message' && (part.subtype === 'rfc822' || part.subtype === 'global')) {
    part.message = parsePart(raw, bodyStart, end, depth + 1, budget, false);
  }
  return part;
}

/** The [start, end) ranges of the parts between boundary delimiters in raw[start, end). */
function splitMultipart(raw: Buffer, start: number, end: number, boundary: string): [number, number][] {
  if (!boundary || boundary.length > 200) return [];
  const delim = Buffer.from(`--${boundary}`, 'latin1');
  const ranges: [number, number][] = [];
  let partStart = -1;
  let pos = start;
  while (pos < end) {
    const i = raw.indexOf(delim, pos);
    if (i === -1 || i + delim.length > end) break;
    pos = i + 1;
    if (i !== start && raw[i - 1] !== LF) continue;
    let j = i + delim.length;
    const close = raw[j] === 0x2d && raw[j + 1] === 0x2d;
    if (close) j += 2;
    let nl = raw.indexOf(LF, j);
    if (nl === -1 || nl >= end) nl = end;
    // Only white space may follow a delimiter on its line.
    let onlySpace = true;
    for (let k = j; k < nl; k++) {
      const b = raw[k]!;
      if (b !== 0x20 && b !== 0x09 && b !== CR) {
        onlySpace = false;
        break;
      }
    }
    if (!onlySpace) continue;
    if (partStart !== -1) {
      // The line break before a delimiter belongs to the delimiter.
      let partEnd = i;
      if (partEnd > partStart && raw[partEnd - 1] === LF) partEnd--;
      if (partEnd > partStart && raw[partEnd - 1] === CR) partEnd--;
      ranges.push([partStart, partEnd]);
    }
    if (close) return ranges;
    partStart = Math.min(nl + 1, end);
    pos = partStart;
  }
  // No closing delimiter: the last part runs to the end.
  if (partStart !== -1) ranges.push([partStart, end]);
  return ranges;
}

/**
 * The part a section's numbers name (RFC 3501 §6.4.5), or null. `[]` is the message itself; in a
 * message whose body is not multipart, part 1 is that body.
 */
export function findPart(root: MimePart, path: number[]): { part: MimePart; isMessage: boolean } | null {
  let node = root;
  let isMessage = true;
  for (const n of path) {
    const container = !isMessage && node.message ? node.message : node;
    const containerIsMessage = isMessage || node.message !== null;
    if (container.children.length > 0) {
      const child = container.children[n - 1];
      if (!child) return null;
      node = child;
      isMessage = false;
    } else if (containerIsMessage && n === 1) {
      node = container;
      isMessage = false;
    } else return null;
  }
  return { part: node, isMessage };
}

/** The number of lines in raw[start, end): line feeds, plus a last line without one. */
export function countLines(raw: Buffer, start: number, end: number): number {
  let n = 0;
  let pos = start;
  for (;;) {
    const i = raw.indexOf(LF, pos);
    if (i === -1 || i >= end) break;
    n++;
    pos = i + 1;
  }
  if (pos < end) n++;
  return n;
}
