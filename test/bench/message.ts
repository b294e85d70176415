// Verification mails of a chosen size, each with a code of its own, ready for DATA.

import { toDataPayload } from './smtp-client.ts';

export const SENDER = 'no-reply@bench.example.com';

// Filler without digits, so the only code in the mail is the one we put there.
const FILLER_LINE =
  'If you did not ask for this code you can ignore this mail; nobody can use it without you.';

/** A distinct six-digit code for every index below 900,000. */
export function codeFor(index: number): string {
  return String(100000 + (index % 900000));
}

export interface MessageSpec {
  to: string;
  index: number;
  /** Target size of the whole message in bytes (headers included). */
  size: number;
  /** Distinguishes runs so that Message-IDs never repeat. */
  tag: string;
}

// Encoded once per size: only the head differs between messages, and the load client should cost
// as little as possible per message.
const fillers = new Map<number, Buffer>();

/** Filler lines, in DATA form, that make `headLength` bytes of head up to `size` bytes in all. */
function filler(size: number, headLength: number): Buffer {
  const want = Math.max(0, size - headLength);
  let bytes = fillers.get(want);
  if (bytes === undefined) {
    const lines: string[] = [];
    let length = 0;
    while (length + FILLER_LINE.length + 2 <= want - 3) {
      lines.push(FILLER_LINE);
      length += FILLER_LINE.length + 2;
    }
    lines.push('x'.repeat(Math.max(0, want - length - 2)));
    bytes = toDataPayload(`${lines.join('\r\n')}\r\n`);
    fillers.set(want, bytes);
  }
  return bytes;
}

export function buildMessage({ to, index, size, tag }: MessageSpec): Buffer {
  const code = codeFor(index);
  const head = [
    `From: Example Service <${SENDER}>`,
    `To: <${to}>`,
    'Subject: Your Example verification code',
    // a fixed date keeps every head of one size the same length, so the filler can be reused
    'Date: Thu, 26 Nov 2026 12:00:00 +0000',
    `Message-ID: <${tag}.${index}@bench.example.com>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
    '',
    'Hello,',
    '',
    `Your verification code is ${code}`,
    '',
    '',
  ].join('\r\n');
  // no line of the head starts with a dot, so it needs no stuffing
  return Buffer.concat([Buffer.from(head, 'latin1'), filler(size, head.length)]);
}
