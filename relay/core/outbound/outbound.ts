// Outgoing mail: what SMTP submission accepted is signed, queued durably and then delivered by a
// worker that retries with exponential backoff, and bounces to the sender (through the one ingest
// pipeline, since the sender is one of our addresses) when a recipient refuses it or the queue
// lifetime runs out. The queue lives in the Store, so a restart loses nothing.
import type { Ingest, Recipient } from '../ingest.ts';
import type { OutboundJob, Store } from '../ports.ts';
import { buildBounce } from './dsn.ts';
import { prepareSubmission } from './headers.ts';
import { signMessage } from './sign.ts';
import type { SigningKey } from './sign.ts';
import type { AttemptResult, Failure, Transport } from './transport.ts';

/** The part of a pino logger this module uses. */
export interface OutboundLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface OutboundDeps {
  store: Store;
  ingest: Ingest;
  transport: Transport;
  signingKey: SigningKey;
  log: OutboundLog;
}

export interface OutboundOptions {
  /** Our host name: the reporting MTA in bounces. */
  hostname: string;
  /** How long a message is retried before it bounces. */
  queueLifetimeMs: number;
  /** The first retry waits this long; each further one twice as long, up to retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** A claimed job whose worker died is tried again after this long. */
  leaseMs: number;
  /** Jobs delivered at once. */
  concurrency: number;
}

export const DEFAULT_OUTBOUND = {
  queueLifetimeMs: 2 * 86_400_000,
  retryBaseMs: 60_000,
  retryMaxMs: 3_600_000,
  leaseMs: 15 * 60_000,
  concurrency: 8,
} satisfies Omit<OutboundOptions, 'hostname'>;

export interface Submission {
  userId: number;
  /** Envelope sender, one of the user's addresses. */
  mailFrom: string;
  /** The domain the message is signed for: the From address's. */
  signingDomain: string;
  /** Recipients at our own domains, delivered at once through ingest. */
  local: (Recipient & { address: string })[];
  /** Everyone else, through the queue. */
  remote: string[];
  raw: Buffer;
}

export interface Submitted {
  messageId: string;
  /** The outbound queue's id, or null when every recipient was local. */
  queueId: number | null;
  /** Ids of the local copies. */
  stored: number[];
}

/** Never sleeps longer: other relay nodes may have queued mail meanwhile. */
const MAX_SLEEP_MS = 60_000;

export class Outbound {
  private options: OutboundOptions;
  private timer: NodeJS.Timeout | null = null;
  private inFlight = new Set<Promise<void>>();
  private running = false;
  private stopped = true;
  private again = false;

  constructor(
    private deps: OutboundDeps,
    options: Partial<OutboundOptions> & { hostname: string },
  ) {
    // An option left undefined keeps its default.
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.options = { ...DEFAULT_OUTBOUND, ...given } as OutboundOptions;
  }

  /** Signs and queues a message; resolves once it is on disk (and local copies are stored). */
  async submit(s: Submission): Promise<Submitted> {
    const now = new Date();
    const { message, messageId } = prepareSubmission(s.raw, { domain: s.signingDomain, now });
    const signed = await signMessage(message, s.signingDomain, this.deps.signingKey);
    let queueId: number | null = null;
    if (s.remote.length > 0) {
      const groups = this.deps.transport.groupsAllDomains ? [s.remote] : groupByDomain(s.remote);
      queueId = await this.deps.store.enqueueOutbound({ userId: s.userId, mailFrom: s.mailFrom, recipientGroups: groups, raw: signed, createdAt: now });
      this.wake();
    }
    let stored: number[] = [];
    if (s.local.length > 0) {
      const raw = Buffer.concat([Buffer.from(`Return-Path: <${s.mailFrom}>\r\n`, 'latin1'), signed]);
      stored = await this.deps.ingest.deliver({ raw, mailFrom: s.mailFrom, recipients: s.local, receivedAt: now });
    }
    return { messageId, queueId, stored };
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops claiming work and waits for the attempts in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.inFlight]);
    this.deps.transport.close();
  }

  /** New mail is queued: look now rather than at the next timer. */
  wake(): void {
    if (!this.stopped) this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), Math.min(Math.max(delayMs, 0), MAX_SLEEP_MS));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = null;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        const room = this.options.concurrency - this.inFlight.size;
        if (room <= 0 || this.stopped) break;
        const jobs = await this.deps.store.claimOutbound(new Date(), this.options.leaseMs, room);
        for (const job of jobs) {
          const attempt: Promise<void> = this.attempt(job)
            .catch((error: unknown) => this.deps.log.error({ err: error, job: job.id }, 'outbound attempt failed'))
            .finally(() => {
              this.inFlight.delete(attempt);
              this.wake();
            });
          this.inFlight.add(attempt);
        }
        if (jobs.length === room) this.again = true;
      } while (this.again && !this.stopped);
      if (this.inFlight.size < this.options.concurrency) {
        const next = await this.deps.store.nextOutboundAttempt();
        this.schedule(next ? next.getTime() - Date.now() : MAX_SLEEP_MS);
      }
    } catch (error) {
      this.deps.log.error({ err: error }, 'outbound queue failed');
      this.schedule(5_000);
    } finally {
      this.running = false;
    }
  }

  private async attempt(job: OutboundJob): Promise<void> {
    const { store, transport, log } = this.deps;
    let result: AttemptResult;
    try {
      result = await transport.send({ mailFrom: job.mailFrom, recipients: job.recipients, raw: job.raw });
    } catch (error) {
      const reason = (error as Error).message;
      result = { delivered: [], failed: job.recipients.map((recipient) => ({ recipient, permanent: false, reason })) };
    }
    const now = Date.now();
    const deadline = job.createdAt.getTime() + this.options.queueLifetimeMs;
    const expired = now >= deadline;
    const temporary = result.failed.filter((f) => !f.permanent);
    const refused = result.failed.filter((f) => f.permanent);
    if (result.delivered.length > 0) {
      log.info({ job: job.id, queueId: job.messageId, from: job.mailFrom, to: result.delivered, via: result.remoteMta, attempt: job.attempts }, 'sent');
    }
    if (refused.length > 0) await this.bounce(job, refused, false);
    if (temporary.length > 0 && expired) await this.bounce(job, temporary, true);
    if (temporary.length > 0 && !expired) {
      const wait = Math.min(this.options.retryBaseMs * 2 ** Math.min(job.attempts - 1, 30), this.options.retryMaxMs) * (0.9 + Math.random() * 0.2);
      // The last try falls on the deadline, so a message bounces when its lifetime ends.
      const nextAttemptAt = new Date(Math.min(now + wait, deadline));
      const lastError = temporary[0]!.reason;
      await store.rescheduleOutbound(job.id, { recipients: temporary.map((f) => f.recipient), nextAttemptAt, lastError });
      log.warn({ job: job.id, queueId: job.messageId, to: temporary.map((f) => f.recipient), reason: lastError, attempt: job.attempts, retryAt: nextAttemptAt.toISOString() }, 'deferred');
    } else {
      await store.completeOutbound(job.id);
    }
  }

  /** Tells the sender, through its own mailbox, which recipients will never get the message. */
  private async bounce(job: OutboundJob, failures: Failure[], expired: boolean): Promise<void> {
    const { store, ingest, log } = this.deps;
    log.warn({ job: job.id, queueId: job.messageId, from: job.mailFrom, to: failures.map((f) => f.recipient), reason: failures[0]?.reason, expired }, 'bounced');
    const alias = await store.getAlias(job.mailFrom);
    // The address is gone, expired or someone else's: there is nobody to tell.
    if (!alias || alias.userId !== job.userId || alias.expired || (alias.expiresAt && alias.expiresAt.getTime() <= Date.now())) {
      log.info({ job: job.id, to: job.mailFrom }, 'bounce dropped: the sender address no longer takes mail');
      return;
    }
    const now = new Date();
    const raw = buildBounce({
      reportingMta: this.options.hostname,
      domain: job.mailFrom.split('@').pop() ?? this.options.hostname,
      to: job.mailFrom,
      original: job.raw,
      arrivalDate: job.createdAt,
      now,
      failures,
      expired,
    });
    await ingest.deliver({ raw: Buffer.concat([Buffer.from('Return-Path: <>\r\n'), raw]), mailFrom: '', recipients: [alias], receivedAt: now });
  }
}

export function groupByDomain(recipients: string[]): string[][] {
  const groups = new Map<string, string[]>();
  for (const r of recipients) {
    const domain = r.split('@').pop()!.toLowerCase();
    groups.set(domain, [...(groups.get(domain) ?? []), r]);
  }
  return [...groups.values()];
}
