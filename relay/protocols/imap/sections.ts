// BODY[section] contents (RFC 3501 §6.4.5): which bytes of the stored message a section names.
import type { Section } from './ast.ts';
import { findPart, parseFields, parseHeader, parseMime } from './mime.ts';
import type { HeaderField, MimePart } from './mime.ts';

const EMPTY = Buffer.alloc(0);
const CRLF = Buffer.from('\r\n');

function headerBytes(raw: Buffer, start: number, bodyStart: number): Buffer {
  return raw.subarray(start, bodyStart);
}

function headerFields(raw: Buffer, fields: HeaderField[], names: string[], not: boolean): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const out: Buffer[] = [];
  for (const f of fields) {
    if (wanted.has(f.lower) === not) continue;
    const bytes = raw.subarray(f.start, f.end);
    out.push(bytes);
    if (bytes[bytes.length - 1] !== 0x0a) out.push(CRLF);
  }
  out.push(CRLF);
  return Buffer.concat(out);
}

/**
 * The message's MIME tree, parsed at most once per message however many sections ask. Built on a
 * header block alone (`headerOnly`, as Store.getHeaders reads it), it serves the top-level header
 * items: ENVELOPE and the HEADER, HEADER.FIELDS and HEADER.FIELDS.NOT of the message itself.
 */
export class ParsedMessage {
  private tree: MimePart | null = null;
  private header: { fields: HeaderField[]; bodyStart: number } | null = null;

  constructor(
    readonly raw: Buffer,
    private readonly headerOnly = false,
  ) {}

  get mime(): MimePart {
    this.tree ??= parseMime(this.raw);
    return this.tree;
  }

  /** The top-level header alone: enough for ENVELOPE and header sections, without walking the body. */
  get top(): { fields: HeaderField[]; bodyStart: number } {
    if (this.tree) return { fields: this.tree.headers, bodyStart: this.tree.bodyStart };
    // A header block ends where its blank line does: nothing to look for.
    this.header ??= this.headerOnly ? { fields: parseFields(this.raw, 0, this.raw.length), bodyStart: this.raw.length } : parseHeader(this.raw);
    return this.header;
  }

  /** The bytes a section names; a part that does not exist is empty. */
  section(section: Section): Buffer {
    const raw = this.raw;
    if (section.part.length === 0) {
      if (section.text === null) return raw;
      const { fields, bodyStart } = this.top;
      return this.messageText(raw, section, 0, fields, bodyStart, raw.length);
    }
    const found = findPart(this.mime, section.part);
    if (!found) return EMPTY;
    const { part } = found;
    if (section.text === null) return raw.subarray(part.bodyStart, part.end);
    if (section.text === 'MIME') return headerBytes(raw, part.start, part.bodyStart);
    const inner = part.message;
    if (!inner) return EMPTY;
    return this.messageText(raw, section, inner.start, inner.headers, inner.bodyStart, inner.end);
  }

  private messageText(raw: Buffer, section: Section, start: number, fields: HeaderField[], bodyStart: number, end: number): Buffer {
    switch (section.text) {
      case 'HEADER':
        return headerBytes(raw, start, bodyStart);
      case 'HEADER.FIELDS':
        return headerFields(raw, fields, section.fields, false);
      case 'HEADER.FIELDS.NOT':
        return headerFields(raw, fields, section.fields, true);
      case 'TEXT':
        return raw.subarray(bodyStart, end);
      default:
        return EMPTY;
    }
  }
}
