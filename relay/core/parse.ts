// Reads what a list needs from a raw message: sender, subject, preview, code and link.
// Bodies stay in the raw bytes; the detail view parses again on demand.
import { simpleParser } from 'mailparser';
import type { AddressObject } from 'mailparser';
import { extractVerification, htmlToText } from '../../shared/verification/index.ts';
import type { MessageFields } from './ports.ts';

const PREVIEW_CHARS = 160;

export function formatAddress(from: AddressObject | AddressObject[] | undefined): string {
  const first = (Array.isArray(from) ? from[0] : from)?.value[0];
  if (!first) return '';
  const address = first.address ?? '';
  return first.name ? (address ? `${first.name} <${address}>` : first.name) : address;
}

/** Enough text for any preview even when it is mostly white space; the rest is never scanned. */
const PREVIEW_SCAN = 4 * PREVIEW_CHARS;

export function makePreview(text: string): string {
  const flat = text.slice(0, PREVIEW_SCAN).replace(/\s+/g, ' ').trim();
  return flat.length > PREVIEW_CHARS ? `${flat.slice(0, PREVIEW_CHARS - 1)}…` : flat;
}

/** Never throws: mail that cannot be parsed is still kept, with what little is known. */
export async function parseSummary(raw: Buffer, fallbackFrom: string): Promise<MessageFields> {
  try {
    const mail = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true, skipTextLinks: true });
    const subject = mail.subject ?? '';
    const html = typeof mail.html === 'string' ? mail.html : null;
    const text = mail.text ?? null;
    const { code, link } = extractVerification({ subject, text, html });
    return {
      from: formatAddress(mail.from) || fallbackFrom,
      subject,
      preview: makePreview(text ?? (html ? htmlToText(html) : '')),
      code,
      link,
    };
  } catch {
    return { from: fallbackFrom, subject: '', preview: '', code: null, link: null };
  }
}
