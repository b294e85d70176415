// Inbound SMTP (INTERFACE.md §4): a thin adapter from smtp-server's hooks to the core.
// Recipients are judged at RCPT, so refused mail is never taken in; DATA is answered with 250
// only after the ingest pipeline has committed the message.
import os from 'node:os';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import type { Aliases } from '../../core/aliases.ts';
import type { Ingest } from '../../core/ingest.ts';
import type { AliasRecord } from '../../core/ports.ts';
import type { Logger } from '../../log.ts';
import type { Metrics } from '../../metrics.ts';
import { readMessage, smtpError } from './hooks.ts';
import type { SmtpError } from './hooks.ts';

export interface InboundOptions {
  key: Buffer;
  cert: Buffer;
  maxMessageSize: number;
  maxConnections: number;
  hostname?: string;
}

/** More recipients than any real site's verification mail needs. */
const MAX_RECIPIENTS = 100;

const REFUSALS = {
  'foreign-domain': (a: string) => smtpError(550, `5.7.1 <${a}>: relaying denied, this server accepts mail only for its own domains`),
  unknown: (a: string) => smtpError(550, `5.1.1 <${a}>: no such address here`),
  inactive: (a: string) => smtpError(550, `5.1.1 <${a}>: this address is turned off`),
  expired: (a: string) => smtpError(550, `5.1.1 <${a}>: this address has expired`),
};

/** Printable ASCII only, so nothing a client says can break our trace header. */
const printable = (s: string | undefined) => (s ?? '').replace(/[^\x21-\x7e]/g, '').slice(0, 255) || 'unknown';

function traceHeaders(session: SMTPServerSession, host: string, now: Date): string {
  const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
  const date = now.toUTCString().replace('GMT', '+0000');
  return (
    `Return-Path: <${printable(mailFrom) === 'unknown' ? '' : printable(mailFrom)}>\r\n` +
    `Received: from ${printable(session.hostNameAppearsAs)} ([${printable(session.remoteAddress)}])\r\n` +
    `\tby ${host} (Wisp) with ${session.transmissionType || 'ESMTP'} id ${printable(session.id)};\r\n\t${date}\r\n`
  );
}

export function createInboundSmtp(deps: { aliases: Aliases; ingest: Ingest; log: Logger; metrics: Metrics }, options: InboundOptions): SMTPServer {
  const { aliases, ingest, log, metrics } = deps;
  const host = options.hostname ?? os.hostname();
  // What RCPT learned, per session, so DATA needs no second lookup.
  const accepted = new WeakMap<SMTPServerSession, Map<string, AliasRecord>>();

  const refuse = (reason: string, err: SmtpError) => {
    metrics.smtpRejections.inc({ reason });
    return err;
  };

  return new SMTPServer({
    name: host,
    banner: 'Wisp relay ready',
    key: options.key,
    cert: options.cert,
    size: options.maxMessageSize,
    maxClients: options.maxConnections,
    authOptional: true,
    disabledCommands: ['AUTH'],
    disableReverseLookup: true,
    logger: false,
    socketTimeout: 60_000,
    closeTimeout: 1_000,

    onMailFrom(_address, session, callback) {
      accepted.set(session, new Map());
      callback();
    },

    onRcptTo(address: SMTPServerAddress, session, callback) {
      const recipients = accepted.get(session) ?? new Map<string, AliasRecord>();
      accepted.set(session, recipients);
      if (recipients.size >= MAX_RECIPIENTS) {
        return callback(refuse('too-many-recipients', smtpError(452, '4.5.3 Too many recipients')));
      }
      aliases.checkRecipient(address.address).then(
        (verdict) => {
          if (!verdict.ok) return callback(refuse(verdict.reason, REFUSALS[verdict.reason](address.address)));
          recipients.set(verdict.alias.address, verdict.alias);
          callback();
        },
        (err: unknown) => {
          log.error({ err, rcpt: address.address }, 'recipient check failed');
          callback(smtpError(451, '4.3.0 Temporary failure, try again later'));
        },
      );
    },

    onData(stream, session, callback) {
      const receivedAt = new Date();
      const recipients = [...(accepted.get(session)?.values() ?? [])];
      readMessage(stream, options.maxMessageSize)
        .then(async (body) => {
          if (!body) {
            return callback(refuse('size', smtpError(552, `5.3.4 Message too big: the limit is ${options.maxMessageSize} bytes`)));
          }
          const raw = Buffer.concat([Buffer.from(traceHeaders(session, host, receivedAt), 'latin1'), body]);
          const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          const ids = await ingest.deliver({ raw, mailFrom, recipients, receivedAt });
          metrics.messagesStored.inc({ source: 'smtp' }, ids.length);
          log.info({ conn: session.id, from: mailFrom, to: recipients.map((r) => r.address), ids, size: body.length }, 'delivered');
          callback(null, `2.0.0 Stored as ${ids.join(',')}`);
        })
        .catch((err: unknown) => {
          log.error({ err, conn: session.id }, 'delivery failed');
          callback(smtpError(451, '4.3.0 The message could not be stored, try again later'));
        });
    },
  });
}
