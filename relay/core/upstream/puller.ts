// Pulls mail from upstream IMAP mailboxes (`--upstream`): one imapflow connection per mailbox that
// SELECTs it, takes in what is new (sync.ts), then IDLEs until the server announces more. A lost
// connection is opened again after an exponential backoff with jitter (1 s doubling to 60 s).
// Connection state changes are logged at info/warn with the URL minus its password; imapflow's
// own logger stays off, since its debug output would carry the login.
import { ImapFlow } from 'imapflow';
import type { Logger } from '../../log.ts';
import type { UpstreamSource } from './source.ts';
import { PULLED, UpstreamSync } from './sync.ts';
import type { SyncDeps, UpstreamMailbox, UpstreamMessage } from './sync.ts';

export interface PullerOptions {
  /** First retry delay; doubles per failure up to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How long one IDLE lasts before it is renewed (servers drop IDLE after 30 minutes). */
  idleRenewMs?: number;
}

/** Exponential backoff with "equal jitter": between half and all of the capped delay. */
export function backoffMs(failures: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** What a log line may say about an error: its message and code, never the client's options. */
function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as Error & { code?: string; responseText?: string; authenticationFailed?: boolean };
  const text = e.responseText && !e.message.includes(e.responseText) ? `${e.message}: ${e.responseText}` : e.message;
  return e.code && !text.includes(e.code) ? `${text} (${e.code})` : text;
}

function imapMailbox(client: ImapFlow, keywords: boolean): UpstreamMailbox {
  const opened = client.mailbox;
  if (!opened) throw new Error('no mailbox is selected');
  return {
    uidValidity: Number(opened.uidValidity),
    keywords,
    async list(afterUid) {
      const current = client.mailbox;
      if (!current || current.exists === 0) return [];
      const out: UpstreamMessage[] = [];
      for await (const m of client.fetch(`${afterUid + 1}:*`, { uid: true, flags: true, size: true }, { uid: true })) {
        out.push({ uid: m.uid, flags: m.flags ?? new Set(), size: m.size ?? 0 });
      }
      return out.sort((a, b) => a.uid - b.uid);
    },
    async source(uid) {
      const m = await client.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
      return m && m.uid === uid && m.source ? m.source : null;
    },
    async addFlags(uid, flags) {
      if (!(await client.messageFlagsAdd(String(uid), flags, { uid: true }))) throw new Error(`the server refused STORE +FLAGS (${flags.join(' ')})`);
    },
  };
}

export class UpstreamPuller {
  private stopped = false;
  private syncing = false;
  private client: ImapFlow | null = null;
  private wake: () => void = () => {};
  private running: Promise<void> = Promise.resolve();
  private readonly sync: UpstreamSync;

  constructor(
    private readonly source: UpstreamSource,
    private readonly deps: SyncDeps & { log: Logger },
    private readonly options: PullerOptions = {},
  ) {
    this.sync = new UpstreamSync(source.label, source.host, deps);
  }

  start(): void {
    this.running = this.loop();
  }

  /**
   * Ends the connection. A message being taken in is finished first (stored, recorded and marked
   * upstream), for at most `graceMs`.
   */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    this.wake();
    if (!this.syncing) this.client?.close();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([this.running, grace]);
    clearTimeout(timer);
    this.client?.close();
    await this.running;
  }

  private get log(): Logger {
    return this.deps.log;
  }

  private async loop(): Promise<void> {
    const base = this.options.retryBaseMs ?? 1000;
    const max = this.options.retryMaxMs ?? 60_000;
    let failures = 0;
    while (!this.stopped) {
      const progress = { connected: false, synced: false };
      let reason = 'the server closed the connection';
      let authFailed = false;
      try {
        await this.session(progress);
      } catch (err) {
        reason = reasonOf(err);
        authFailed = Boolean((err as { authenticationFailed?: boolean }).authenticationFailed);
      } finally {
        this.client?.close();
        this.client = null;
      }
      if (this.stopped) break;
      // A session that got as far as taking in mail starts the backoff over.
      failures = progress.synced ? 1 : failures + 1;
      const retryInMs = backoffMs(failures, base, max);
      const fields = { upstream: this.source.label, reason, retryInMs };
      if (authFailed) this.log.error(fields, 'upstream login failed');
      else if (progress.connected) this.log.warn(fields, 'upstream connection lost');
      else this.log.warn(fields, 'upstream connection failed');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, retryInMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.log.debug({ upstream: this.source.label }, 'upstream closed');
  }

  private async session(progress: { connected: boolean; synced: boolean }): Promise<void> {
    const { source } = this;
    const client = new ImapFlow({
      host: source.host,
      port: source.port,
      secure: source.secure,
      auth: { user: source.user, pass: source.password },
      tls: { rejectUnauthorized: !source.insecureTls },
      logger: false,
      disableAutoIdle: true,
      maxIdleTime: this.options.idleRenewMs ?? 5 * 60_000,
      clientInfo: { name: 'Wisp relay' },
      connectionTimeout: 30_000,
      greetingTimeout: 16_000,
      // a message over the size limit is never fetched, but the limit bounds what a server can send
      maxLiteralSize: Math.max(this.deps.maxMessageSize * 2, 1 << 20),
    });
    this.client = client;
    let closedReason: Error | null = null;
    // set by the 'exists' handler: the server announced mail since the last sync began
    const announced = { newMail: false };
    let wakeIdle: () => void = () => {};
    const closed = new Promise<void>((resolve) => {
      client.on('close', () => resolve());
      client.on('error', (err) => {
        closedReason = err;
        resolve();
      });
    });
    client.on('exists', () => {
      announced.newMail = true;
      wakeIdle();
    });
    client.on('mailboxClose', () => client.close());
    if (this.stopped) return;

    this.log.debug({ upstream: source.label }, 'upstream connecting');
    await client.connect();
    progress.connected = true;
    const opened = await client.mailboxOpen(source.mailbox);
    const flags = opened.permanentFlags;
    const keywords = !flags || flags.has('\\*') || flags.has(PULLED);
    const mailbox = imapMailbox(client, keywords);
    this.log.info(
      {
        upstream: source.label,
        tls: client.secureConnection,
        uidValidity: mailbox.uidValidity,
        messages: opened.exists,
        marks: keywords ? `${PULLED} and \\Seen` : '\\Seen (the mailbox keeps no keywords)',
      },
      'upstream connected',
    );
    if (!client.secureConnection) {
      this.log.warn({ upstream: source.label }, 'upstream connection is not encrypted: the server offers no STARTTLS');
    }

    while (!this.stopped) {
      announced.newMail = false;
      this.syncing = true;
      let result;
      try {
        result = await this.sync.run(mailbox, () => this.stopped);
      } finally {
        this.syncing = false;
      }
      progress.synced = true;
      if (result.pulled || result.skipped) this.log.debug({ upstream: source.label, ...result }, 'upstream sync');
      if (announced.newMail || this.stopped) continue;
      const woke = new Promise<void>((resolve) => (wakeIdle = resolve));
      // The next command (the sync's FETCH) breaks the IDLE, so it is not awaited past a wake-up.
      const idling = client.idle().catch(() => false);
      const ended = await Promise.race([idling, woke.then(() => 'woke' as const), closed.then(() => 'closed' as const)]);
      if (ended === 'closed' || !client.usable) throw closedReason ?? new Error('the server closed the connection');
      // IDLE refused: imapflow polls from now on; a short pause keeps a refusing server from a busy loop.
      if (ended === false) await Promise.race([new Promise((r) => setTimeout(r, 1000)), woke, closed]);
    }
  }
}

/** Starts a puller per upstream; the function returned stops them all. */
export function startUpstreams(sources: UpstreamSource[], deps: SyncDeps, options: PullerOptions = {}): { close(): Promise<void> } {
  const pullers = sources.map((s) => new UpstreamPuller(s, deps, options));
  for (const p of pullers) p.start();
  return {
    async close() {
      await Promise.all(pullers.map((p) => p.stop()));
    },
  };
}
