// The bounce a sender gets when its mail cannot be delivered: a delivery status notification
// (RFC 3464) — a multipart/report with a readable explanation, the machine-readable status of each
// recipient, and the header of the original message.
import { randomBytes } from 'node:crypto';
import type { Failure } from './transport.ts';
import { parseHeader, rfc5322Date } from './headers.ts';

export interface BounceInput {
  /** Our host name, as the reporting MTA. */
  reportingMta: string;
  /** The domain of the sender's address: the bounce comes from its mailer-daemon. */
  domain: string;
  /** The envelope sender, who receives the bounce. */
  to: string;
  original: Buffer;
  arrivalDate: Date;
  now: Date;
  failures: Failure[];
  /** True when the relay gave up after retrying, rather than being refused outright. */
  expired: boolean;
}

/** RFC 3463 status from a reply like `550 5.1.1 …`, else a generic one. */
function statusOf(f: Failure, expired: boolean): string {
  const enhanced = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(f.response ?? '')?.[1];
  if (enhanced) return enhanced;
  if (expired && !f.permanent) return '4.4.7';
  return f.permanent ? '5.0.0' : '4.0.0';
}

/** Printable ASCII on one line, so nothing from a remote server can break the report's format. */
const clean = (s: string) => s.replace(/[^\x20-\x7e]/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 900);

export function buildBounce(input: BounceInput): Buffer {
  const boundary = `wisp-dsn-${randomBytes(12).toString('hex')}`;
  const parsed = parseHeader(input.original);
  const headerText = parsed.fields
    .filter((f) => f.name !== 'dkim-signature' && f.name !== 'bcc')
    .map((f) => f.raw)
    .join('');
  const subject = parsed.fields.find((f) => f.name === 'subject')?.value ?? '';
  const why = input.expired
    ? 'The relay kept trying to deliver it and has now given up.'
    : 'The receiving server refused it.';
  const human = [
    `Your message${subject ? ` "${clean(subject).slice(0, 200)}"` : ''} could not be delivered to:`,
    '',
    ...input.failures.map((f) => `  <${clean(f.recipient)}>: ${clean(f.reason)}`),
    '',
    why,
    'The header of your message is attached below.',
  ].join('\r\n');

  const perRecipient = input.failures.map((f) =>
    [
      `Final-Recipient: rfc822; ${clean(f.recipient)}`,
      'Action: failed',
      `Status: ${statusOf(f, input.expired)}`,
      ...(f.remoteMta ? [`Remote-MTA: dns; ${clean(f.remoteMta)}`] : []),
      `Diagnostic-Code: ${f.response ? 'smtp' : 'x-wisp'}; ${clean(f.response ?? f.reason)}`,
    ].join('\r\n'),
  );
  const status = [`Reporting-MTA: dns; ${clean(input.reportingMta)}`, `Arrival-Date: ${rfc5322Date(input.arrivalDate)}`, '', perRecipient.join('\r\n\r\n')].join('\r\n');

  const head = [
    `From: Mail Delivery System <mailer-daemon@${input.domain}>`,
    `To: <${input.to}>`,
    `Subject: Undelivered mail${subject ? `: ${clean(subject).slice(0, 150)}` : ''}`,
    `Date: ${rfc5322Date(input.now)}`,
    `Message-ID: <dsn.${randomBytes(9).toString('base64url')}@${input.domain}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
  ].join('\r\n');
  const text = [
    head,
    '',
    'This is a delivery status notification (RFC 3464).',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    human,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    status,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(text + '\r\n', 'latin1'), Buffer.from(headerText, 'latin1'), Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1')]);
}
