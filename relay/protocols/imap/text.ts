// Readable text for SEARCH: header values with RFC 2047 encoded words decoded, and bodies with
// their transfer encoding and charset undone. Uses only Node's own TextDecoder (full ICU), so any
// charset it knows is read; an unknown one falls back to UTF-8. Bounded per message.
import type { MimePart } from './mime.ts';
import { headerValue } from './mime.ts';

/** At most this much decoded text per message is searched. */
const MAX_TEXT = 4 * 1024 * 1024;

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export function decodeCharset(bytes: Uint8Array, charset: string | undefined): string {
  const label = (charset ?? '').trim().toLowerCase().replace(/\*.*$/, '');
  if (label && label !== 'us-ascii' && label !== 'utf-8' && label !== 'utf8') {
    try {
      return new TextDecoder(label).decode(bytes);
    } catch {
      /* unknown charset: read as UTF-8 below */
    }
  }
  try {
    return utf8Strict.decode(bytes);
  } catch {
    // Not UTF-8 after all: latin1 keeps every byte readable.
    return Buffer.from(bytes).toString('latin1');
  }
}

function decodeQ(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '_') bytes.push(0x20);
    else if (c === '=' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c.charCodeAt(0) & 0xff);
  }
  return Buffer.from(bytes);
}

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

/** A header value (byte string) → text: encoded words decoded, raw 8-bit bytes read as UTF-8. */
export function decodeHeader(value: string): string {
  let out = '';
  let last = 0;
  let previousWasWord = false;
  for (const m of value.matchAll(ENCODED_WORD)) {
    const between = value.slice(last, m.index);
    // White space between two encoded words is not part of the text.
    if (!(previousWasWord && /^\s*$/.test(between))) out += decodeCharset(Buffer.from(between, 'latin1'), 'utf-8');
    const [, charset, enc, payload] = m as unknown as [string, string, string, string];
    const bytes = enc.toUpperCase() === 'B' ? Buffer.from(payload, 'base64') : decodeQ(payload);
    out += decodeCharset(bytes, charset);
    last = m.index + m[0].length;
    previousWasWord = true;
  }
  out += decodeCharset(Buffer.from(value.slice(last), 'latin1'), 'utf-8');
  return out;
}

export function decodeQuotedPrintable(input: Buffer): Buffer {
  const out = Buffer.alloc(input.length);
  let n = 0;
  const hex = (b: number) => (b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x41 && b <= 0x46 ? b - 0x37 : b >= 0x61 && b <= 0x66 ? b - 0x57 : -1);
  for (let i = 0; i < input.length; i++) {
    const b = input[i]!;
    if (b !== 0x3d) {
      out[n++] = b;
      continue;
    }
    const h = hex(input[i + 1] ?? -1);
    const l = hex(input[i + 2] ?? -1);
    if (h >= 0 && l >= 0) {
      out[n++] = h * 16 + l;
      i += 2;
      continue;
    }
    // A soft line break: "=" then optional white space then the line ending.
    let j = i + 1;
    while (input[j] === 0x20 || input[j] === 0x09) j++;
    if (input[j] === 0x0d && input[j + 1] === 0x0a) i = j + 1;
    else if (input[j] === 0x0a) i = j;
    else out[n++] = b;
  }
  return out.subarray(0, n);
}

/** A leaf part's body as text, transfer encoding and charset undone. */
export function decodeBody(raw: Buffer, part: MimePart): string {
  let body = raw.subarray(part.bodyStart, part.end);
  const encoding = headerValue(part.headers, 'content-transfer-encoding')?.trim().toLowerCase();
  if (encoding === 'base64') body = Buffer.from(body.toString('latin1'), 'base64');
  else if (encoding === 'quoted-printable') body = decodeQuotedPrintable(body);
  const charset = part.params.find(([k]) => k === 'charset')?.[1];
  let text = decodeCharset(body, charset);
  if (part.subtype === 'html') text = htmlText(text);
  return text;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function htmlText(html: string): string {
  return html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
      if (name[0] === '#') {
        const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : whole;
      }
      return ENTITIES[name.toLowerCase()] ?? whole;
    });
}

/** Every header of a part, decoded, one per line. */
export function headerText(part: MimePart): string {
  return part.headers.map((f) => `${f.name}: ${decodeHeader(f.value)}`).join('\n');
}

/** The readable text of a message's body: text parts decoded, enclosed messages with their headers. */
export function bodyText(raw: Buffer, root: MimePart): string {
  const out: string[] = [];
  let size = 0;
  const walk = (part: MimePart) => {
    if (size > MAX_TEXT) return;
    if (part.children.length > 0) {
      for (const child of part.children) walk(child);
    } else if (part.message) {
      const inner = headerText(part.message);
      out.push(inner);
      size += inner.length;
      walk(part.message);
    } else if (part.type === 'text' || (part.type === 'message' && !part.message)) {
      const text = decodeBody(raw, part);
      out.push(text.slice(0, MAX_TEXT));
      size += text.length;
    }
  };
  walk(root);
  return out.join('\n');
}
