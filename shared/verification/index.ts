// Verification extraction: the one-time code and the confirm/sign-in link of a mail.
//
// Pure TypeScript with no imports outside this folder, so the relay (for every message it stores)
// and the browser extension share it. Input is what a MIME parser gives: the decoded subject and
// the decoded text and HTML bodies.

import { MAX_TEXT_CHARS, findCode } from './code.ts';
import { parseHtml } from './html.ts';
import { chooseLink, linksFromText } from './link.ts';

export { htmlToText } from './html.ts';

export interface VerificationInput {
  subject: string;
  text: string | null;
  html: string | null;
}

export interface Verification {
  /** The code exactly as the user must type it, or null. */
  code: string | null;
  /** The URL the user must open to confirm the address, sign in or reset, or null. */
  link: string | null;
}

export function extractVerification(mail: VerificationInput): Verification {
  const subject = mail.subject ?? '';
  const html = mail.html && mail.html.trim() !== '' ? parseHtml(mail.html) : null;
  const text = mail.text && mail.text.trim() !== '' ? mail.text.slice(0, MAX_TEXT_CHARS) : null;

  let code = findCode(subject, html ? html.text : (text ?? ''), html?.emphasized);
  // The text part is read too when the HTML shows next to nothing (an image, a broken body).
  if (code === null && html && text && html.text.length < 200) code = findCode(subject, text);

  const ctx = { subject };
  let link: string | null = null;
  if (html) link = chooseLink(html.links, ctx) ?? chooseLink(linksFromText(html.text), ctx);
  if (link === null && text) link = chooseLink(linksFromText(text), ctx);
  return { code, link };
}
