// Hands a queued message to the next server: the configured smarthost, or each recipient domain's
// MX found in DNS (RFC 5321 §5). TLS towards an MX is opportunistic and unverified (STARTTLS
// whenever offered, as MTAs do); towards a smarthost, which holds our credentials, it is verified.
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';

export interface Envelope {
  mailFrom: string;
  recipients: string[];
  raw: Buffer;
}

export interface Failure {
  recipient: string;
  permanent: boolean;
  /** What went wrong, for the log and the bounce: the server's reply when there was one. */
  reason: string;
  /** The SMTP reply, e.g. `550 5.1.1 no such user`, when the failure was one. */
  response?: string;
  remoteMta?: string;
}

export interface AttemptResult {
  delivered: string[];
  failed: Failure[];
  /** The server that answered, for the log. */
  remoteMta?: string;
}

export interface Transport {
  send(envelope: Envelope): Promise<AttemptResult>;
  /** Whether recipients at different domains may share one attempt. */
  readonly groupsAllDomains: boolean;
  close(): void;
}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  recipient?: string;
  rejectedErrors?: SmtpError[];
}

const TIMEOUTS = { connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 5 * 60_000, dnsTimeout: 30_000 };

/** Errors that say nothing about the message: the next server may do better. */
function isConnectionError(error: SmtpError): boolean {
  if (error.responseCode) return error.responseCode === 421;
  return true;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 500);
}

/** Splits nodemailer's outcome (success with some rejections, or an error) per recipient. */
export function classify(recipients: string[], outcome: { info?: SMTPTransport.SentMessageInfo; error?: SmtpError }, remoteMta?: string): AttemptResult {
  const failed: Failure[] = [];
  const rejectedErrors = (outcome.info as { rejectedErrors?: SmtpError[] } | undefined)?.rejectedErrors ?? outcome.error?.rejectedErrors ?? [];
  for (const e of rejectedErrors) {
    if (!e.recipient) continue;
    failed.push({ recipient: e.recipient, permanent: (e.responseCode ?? 0) >= 500, reason: oneLine(e.response ?? e.message), response: e.response, remoteMta });
  }
  const failedSet = new Set(failed.map((f) => f.recipient.toLowerCase()));
  if (outcome.error) {
    const e = outcome.error;
    // An error for the whole transaction (MAIL, DATA, the connection) covers whoever is left.
    for (const r of recipients) {
      if (failedSet.has(r.toLowerCase())) continue;
      failed.push({
        recipient: r,
        permanent: (e.responseCode ?? 0) >= 500,
        reason: oneLine(e.response ?? e.message),
        ...(e.response ? { response: e.response } : {}),
        remoteMta,
      });
    }
    return { delivered: [], failed, remoteMta };
  }
  const delivered = recipients.filter((r) => !failedSet.has(r.toLowerCase()));
  return { delivered, failed, remoteMta };
}

async function sendVia(options: SMTPTransport.Options, envelope: Envelope): Promise<SMTPTransport.SentMessageInfo> {
  const transport = nodemailer.createTransport({ ...TIMEOUTS, ...options, logger: false, disableFileAccess: true, disableUrlAccess: true });
  try {
    return await transport.sendMail({ envelope: { from: envelope.mailFrom, to: envelope.recipients }, raw: envelope.raw });
  } finally {
    transport.close();
  }
}

export class SmarthostTransport implements Transport {
  readonly groupsAllDomains = true;
  private transport: ReturnType<typeof nodemailer.createTransport<SMTPTransport.SentMessageInfo>>;
  private name: string;

  constructor(url: URL, heloName: string) {
    const secure = url.protocol === 'smtps:';
    this.name = `${url.hostname}:${url.port || (secure ? 465 : 587)}`;
    this.transport = nodemailer.createTransport({
      ...TIMEOUTS,
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port) || (secure ? 465 : 587),
      secure,
      name: heloName,
      // A few connections kept open: a burst of replies goes out without a handshake each.
      pool: true,
      maxConnections: 4,
      ...(url.username ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
      logger: false,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  }

  async send(envelope: Envelope): Promise<AttemptResult> {
    try {
      const info = await this.transport.sendMail({ envelope: { from: envelope.mailFrom, to: envelope.recipients }, raw: envelope.raw });
      return classify(envelope.recipients, { info }, this.name);
    } catch (error) {
      return classify(envelope.recipients, { error: error as SmtpError }, this.name);
    }
  }

  close(): void {
    this.transport.close();
  }
}

export interface MxOptions {
  heloName: string;
  /** `host` or `host:port` of the DNS server to ask; null: the system's resolvers. */
  dnsServer: string | null;
  /** 25 unless a test points delivery elsewhere. */
  port: number;
}

class DnsFailure extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

export class MxTransport implements Transport {
  readonly groupsAllDomains = false;
  private resolver = new Resolver({ timeout: 10_000, tries: 2 });

  constructor(private options: MxOptions) {
    if (options.dnsServer) this.resolver.setServers([options.dnsServer]);
  }

  /** The hosts to try, best first (RFC 5321 §5.1), or a DnsFailure. */
  async exchanges(domain: string): Promise<string[]> {
    const literal = /^\[(?:ipv6:)?(.+)\]$/i.exec(domain);
    if (literal) return [literal[1]!];
    try {
      const records = await this.resolver.resolveMx(domain);
      // RFC 7505: a single MX of "." says the domain takes no mail.
      if (records.length === 1 && (records[0]!.exchange === '' || records[0]!.exchange === '.')) {
        throw new DnsFailure(`${domain} accepts no mail (null MX)`, true);
      }
      if (records.length === 0) return [domain];
      // Equal preferences are shuffled, so load spreads as the domain intends.
      return records
        .map((r) => ({ ...r, tie: Math.random() }))
        .sort((a, b) => a.priority - b.priority || a.tie - b.tie)
        .map((r) => r.exchange);
    } catch (error) {
      if (error instanceof DnsFailure) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      // No MX: the domain's own address is the implicit MX.
      if (code === 'ENODATA') return [domain];
      if (code === 'ENOTFOUND') throw new DnsFailure(`the domain ${domain} does not exist`, true);
      throw new DnsFailure(`DNS lookup of ${domain} failed (${code ?? (error as Error).message})`, false);
    }
  }

  async addresses(host: string): Promise<string[]> {
    if (net.isIP(host)) return [host];
    const [v4, v6] = await Promise.allSettled([this.resolver.resolve4(host), this.resolver.resolve6(host)]);
    return [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
  }

  async send(envelope: Envelope): Promise<AttemptResult> {
    const domain = envelope.recipients[0]?.split('@').pop()?.toLowerCase() ?? '';
    const failAll = (reason: string, permanent: boolean, remoteMta?: string): AttemptResult => ({
      delivered: [],
      failed: envelope.recipients.map((recipient) => ({ recipient, permanent, reason, remoteMta })),
    });
    let hosts: string[];
    try {
      hosts = await this.exchanges(domain);
    } catch (error) {
      return failAll((error as Error).message, error instanceof DnsFailure && error.permanent);
    }
    let last = `no address found for the mail servers of ${domain}`;
    for (const host of hosts) {
      for (const ip of await this.addresses(host)) {
        try {
          const info = await sendVia(
            {
              host: ip,
              port: this.options.port,
              secure: false,
              name: this.options.heloName,
              // Opportunistic: STARTTLS whenever the server offers it, without checking its certificate.
              tls: { rejectUnauthorized: false, ...(net.isIP(host) ? {} : { servername: host }) },
            },
            envelope,
          );
          return classify(envelope.recipients, { info }, host);
        } catch (error) {
          const e = error as SmtpError;
          if (!isConnectionError(e)) return classify(envelope.recipients, { error: e }, host);
          last = `${host} [${ip}]: ${oneLine(e.response ?? e.message)}`;
        }
      }
    }
    return failAll(last, false);
  }

  close(): void {}
}
