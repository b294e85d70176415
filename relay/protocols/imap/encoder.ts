// Server responses as bytes: strings quoted or sent as literals, nested lists, NIL, dates and flag
// lists. Strings here are byte strings (one char per byte, latin1) so that 8-bit header bytes are
// passed on exactly as the message holds them.

/**
 * An IMAP data item. `Atom` is written as is; a string is quoted (or a literal when it must be); a
 * list is parenthesized with spaces; `Run` is items written back to back (the grammar's `1*address`
 * and `1*body`).
 */
export type Value = null | number | string | Buffer | Atom | Run | Value[];

export class Atom {
  constructor(readonly text: string) {}
}

export class Run {
  constructor(readonly items: Value[]) {}
}

export const atom = (text: string) => new Atom(text);

/** Quoted strings carry no control characters (CR, LF, NUL...) or 8-bit bytes, and stay short. */
const UNQUOTABLE = /[\p{Cc}\u0080-\uffff]/u;
const quotable = (s: string) => s.length <= 1024 && !UNQUOTABLE.test(s);
const NEEDS_ESCAPE = /["\\]/;

/** Appends the encoding of `value` to `out` (strings are latin1 byte strings). */
export function encodeValue(value: Value, out: (string | Buffer)[]): void {
  if (value === null) out.push('NIL');
  else if (typeof value === 'number') out.push(String(value));
  else if (typeof value === 'string') {
    if (quotable(value)) out.push(NEEDS_ESCAPE.test(value) ? `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"` : `"${value}"`);
    else out.push(`{${Buffer.byteLength(value, 'latin1')}}\r\n`, Buffer.from(value, 'latin1'));
  } else if (Buffer.isBuffer(value)) out.push(`{${value.length}}\r\n`, value);
  else if (value instanceof Atom) out.push(value.text);
  else if (value instanceof Run) for (const v of value.items) encodeValue(v, out);
  else {
    out.push('(');
    value.forEach((v, i) => {
      if (i > 0) out.push(' ');
      encodeValue(v, out);
    });
    out.push(')');
  }
}

/** Response parts as bytes: strings are written as latin1, Buffers as they are. */
export function toBuffer(parts: (string | Buffer)[]): Buffer {
  // Runs of strings become one Buffer each: far fewer, larger copies than one per part.
  const chunks: Buffer[] = [];
  let run = '';
  for (const p of parts) {
    if (typeof p === 'string') run += p;
    else {
      if (run) chunks.push(Buffer.from(run, 'latin1'));
      run = '';
      chunks.push(p);
    }
  }
  if (run) chunks.push(Buffer.from(run, 'latin1'));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** A string as an IMAP string from JavaScript text (UTF-8 when it is not ASCII). */
export function text(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** Always quoted when possible, for mailbox names in LIST (never an atom, so "" and NIL are safe). */
export function quoted(s: string): string {
  const out: (string | Buffer)[] = [];
  encodeValue(s, out);
  return out.map((p) => (typeof p === 'string' ? p : p.toString('latin1'))).join('');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** INTERNALDATE: "dd-Mon-yyyy hh:mm:ss +0000" (UTC), the day padded with a space. */
export function internalDate(date: Date): string {
  const day = String(date.getUTCDate()).padStart(2, ' ');
  return `${day}-${MONTHS[date.getUTCMonth()]}-${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** `(\Seen $Label)`. */
export function flagList(flags: readonly string[]): string {
  return `(${flags.join(' ')})`;
}
