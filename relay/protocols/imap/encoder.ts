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

/** Quoted strings stay short; longer ones, and any with a control character or 8-bit byte, are literals. */
const MAX_QUOTED = 1024;
/** The writer's Buffers start this small and double, up to its largest (256 KiB unless told). */
const FIRST_CHUNK = 4 * 1024;
const CHUNK = 256 * 1024;
/** Literals this large are passed on as they are rather than copied in. */
const DIRECT = 16 * 1024;
/** Strings longer than this are written by Buffer#write; shorter ones by a loop (no native call). */
const SHORT = 64;

const EMPTY = Buffer.alloc(0);
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Responses encoded straight into bytes: text and values are written into a Buffer as they come,
 * small literals copied in, large ones passed on as they are. No intermediate strings or arrays
 * per item. `take()` hands over what is written so far, as Buffers for SessionIo.write; the bytes
 * after it go on in the same Buffer, so nothing is copied twice. Its Buffers grow with use (a
 * short reply never allocates 256 KiB), and `reset()` lets go of the one it is writing into.
 */
export class ResponseWriter {
  private buf = EMPTY;
  /** buf[start, pos) is written and not yet taken. */
  private start = 0;
  private pos = 0;
  private done: Buffer[] = [];
  private doneBytes = 0;
  private nextChunk: number;

  /** `largest`: the size its Buffers grow to (small for a one-off value). */
  constructor(private readonly largest = CHUNK) {
    this.nextChunk = Math.min(FIRST_CHUNK, largest);
  }

  /** Bytes written and not yet taken. */
  get size(): number {
    return this.doneBytes + this.pos - this.start;
  }

  /** Room for `n` more bytes at `pos`. */
  private room(n: number): Buffer {
    if (this.buf.length - this.pos < n) {
      this.seal();
      this.buf = Buffer.allocUnsafe(Math.max(this.nextChunk, n));
      this.nextChunk = Math.min(2 * this.nextChunk, this.largest);
      this.start = this.pos = 0;
    }
    return this.buf;
  }

  private seal(): void {
    if (this.pos === this.start) return;
    this.done.push(this.buf.subarray(this.start, this.pos));
    this.doneBytes += this.pos - this.start;
    this.start = this.pos;
  }

  /** Appends text as is: a latin1 byte string, one byte per char. */
  text(s: string): this {
    const n = s.length;
    const buf = this.room(n);
    if (n > SHORT) {
      this.pos += buf.write(s, this.pos, 'latin1');
      return this;
    }
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
    return this;
  }

  /** Appends bytes as a literal. */
  literal(bytes: Buffer): this {
    return this.text(`{${bytes.length}}\r\n`).bytes(bytes);
  }

  /** Appends bytes as they are. */
  bytes(bytes: Buffer): this {
    if (bytes.length >= DIRECT) {
      this.seal();
      this.done.push(bytes);
      this.doneBytes += bytes.length;
    } else {
      this.room(bytes.length).set(bytes, this.pos);
      this.pos += bytes.length;
    }
    return this;
  }

  /** Appends a string: quoted when it can be, else a literal. */
  string(s: string): this {
    const n = s.length;
    if (n <= MAX_QUOTED) {
      // Quoted, optimistically; a byte that may not be quoted turns it into a literal instead.
      const buf = this.room(2 * n + 2);
      let p = this.pos;
      buf[p++] = QUOTE;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        // Control characters (C0, DEL, C1) and every 8-bit byte.
        if (c < 0x20 || c >= 0x7f) {
          p = -1;
          break;
        }
        if (c === QUOTE || c === BACKSLASH) buf[p++] = BACKSLASH;
        buf[p++] = c;
      }
      if (p !== -1) {
        buf[p++] = QUOTE;
        this.pos = p;
        return this;
      }
    }
    // The connection sends strings as latin1, so the literal's bytes are the string's chars.
    return this.text(`{${n}}\r\n`).text(s);
  }

  /** Appends the encoding of `value`. */
  value(value: Value): this {
    if (value === null) return this.text('NIL');
    if (typeof value === 'string') return this.string(value);
    if (Array.isArray(value)) {
      this.text('(');
      for (let i = 0; i < value.length; i++) {
        if (i > 0) this.text(' ');
        this.value(value[i]!);
      }
      return this.text(')');
    }
    if (typeof value === 'number') return this.text(String(value));
    if (value instanceof Atom) return this.text(value.text);
    if (value instanceof Run) {
      for (const v of value.items) this.value(v);
      return this;
    }
    return this.literal(value);
  }

  /** What was written since the last take, in order; the writer goes on after it. */
  take(): Buffer[] {
    this.seal();
    const out = this.done;
    this.done = [];
    this.doneBytes = 0;
    return out;
  }

  /** Takes what was written, and lets go of the Buffer (an idle connection holds none). */
  reset(): Buffer[] {
    const out = this.take();
    this.buf = EMPTY;
    this.start = this.pos = 0;
    this.nextChunk = Math.min(FIRST_CHUNK, this.largest);
    return out;
  }
}

/** Appends the encoding of `value` to `out`. */
export function encodeValue(value: Value, out: (string | Buffer)[]): void {
  out.push(...new ResponseWriter(256).value(value).take());
}

/** A string as an IMAP string from JavaScript text (UTF-8 when it is not ASCII). */
export function text(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** Always quoted when possible, for mailbox names in LIST (never an atom, so "" and NIL are safe). */
export function quoted(s: string): string {
  return Buffer.concat(new ResponseWriter(256).string(s).take()).toString('latin1');
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
