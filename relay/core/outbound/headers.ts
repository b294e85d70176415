// The header of a submitted message, handled as bytes: fields are read, dropped or added, and
// everything else (folding, 8-bit text, the body) is passed on exactly as the client wrote it.
import addressparser from 'nodemailer/lib/addressparser';
import { randomBytes } from 'node:crypto';

export interface HeaderField {
  /** Lower case. */
  name: string;
  /** The whole field as sent, folded lines and line end included (latin1). */
  raw: string;
  /** The value unfolded, without the name and colon. */
  value: string;
}

export interface ParsedMessage {
  fields: HeaderField[];
  /** The blank line and body that follow the header, untouched. */
  rest: Buffer;
}

/** Splits a message into header fields and the rest. */
export function parseHeader(raw: Buffer): ParsedMessage {
  let end = raw.length;
  let restStart = raw.length;
  for (let i = raw.indexOf(0x0a); i !== -1; i = raw.indexOf(0x0a, i + 1)) {
    const next = raw[i + 1];
    if (next === 0x0a) {
      end = i + 1;
      restStart = i + 1;
      break;
    }
    if (next === 0x0d && raw[i + 2] === 0x0a) {
      end = i + 1;
      restStart = i + 1;
      break;
    }
  }
  const text = raw.subarray(0, end).toString('latin1');
  const fields: HeaderField[] = [];
  for (const line of text.split(/(?<=\n)/)) {
    const last = fields[fields.length - 1];
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      last.raw += line;
      last.value += line.replace(/\r?\n$/, '');
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      // Not a field (a stray line): kept as it was, under no name.
      fields.push({ name: '', raw: line, value: '' });
      continue;
    }
    fields.push({ name: line.slice(0, colon).trim().toLowerCase(), raw: line, value: line.slice(colon + 1).replace(/\r?\n$/, '').trim() });
  }
  return { fields, rest: raw.subarray(restStart) };
}

export function buildMessage(message: ParsedMessage): Buffer {
  return Buffer.concat([Buffer.from(message.fields.map((f) => f.raw).join(''), 'latin1'), message.rest]);
}

/** The addresses of every From field, lower case. */
export function fromAddresses(fields: HeaderField[]): string[] {
  const out: string[] = [];
  const walk = (list: ReturnType<typeof addressparser>) => {
    for (const entry of list) {
      if ('group' in entry && entry.group) walk(entry.group);
      else if ('address' in entry && entry.address) out.push(entry.address.toLowerCase());
    }
  };
  for (const f of fields) if (f.name === 'from') walk(addressparser(Buffer.from(f.value, 'latin1').toString('utf8')));
  return out;
}

/** RFC 5322 date-time in UTC. */
export function rfc5322Date(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

/**
 * What a submission server adds and removes (RFC 6409 §8): Date and Message-ID when missing, and
 * no Bcc (its recipients would see each other). Threading headers (In-Reply-To, References) stay.
 * No Received line is added: it would tell recipients where the user sent from.
 */
export function prepareSubmission(raw: Buffer, options: { domain: string; now: Date }): { message: Buffer; messageId: string } {
  const parsed = parseHeader(raw);
  const fields = parsed.fields.filter((f) => f.name !== 'bcc');
  let messageId = fields.find((f) => f.name === 'message-id')?.value ?? '';
  const added: HeaderField[] = [];
  if (!messageId) {
    messageId = `<${Date.now().toString(36)}.${randomBytes(9).toString('base64url')}@${options.domain}>`;
    added.push({ name: 'message-id', raw: `Message-ID: ${messageId}\r\n`, value: messageId });
  }
  if (!fields.some((f) => f.name === 'date')) {
    const date = rfc5322Date(options.now);
    added.push({ name: 'date', raw: `Date: ${date}\r\n`, value: date });
  }
  return { message: buildMessage({ fields: [...added, ...fields], rest: parsed.rest }), messageId };
}
