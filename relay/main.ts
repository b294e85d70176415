// The composition root: config → store → core → listeners. The only place that wires.
import fs from 'node:fs/promises';
import os from 'node:os';
import type net from 'node:net';
import type { Config, Service } from './config.ts';
import { ConfigError, SERVICES } from './config.ts';
import { openStore } from './store/open.ts';
import { joinCluster } from './cluster.ts';
import { Exclusive } from './core/locks.ts';
import { Users } from './core/users.ts';
import { Aliases } from './core/aliases.ts';
import { Messages } from './core/messages.ts';
import { Ingest } from './core/ingest.ts';
import { startIngestThread } from './ingest-thread.ts';
import { ExpirySweeper } from './core/expiry.ts';
import { loadTlsIdentity } from './tls.ts';
import { createMetrics } from './metrics.ts';
import type { Logger } from './log.ts';
import { createInboundSmtp } from './protocols/smtp/inbound.ts';
import { createImapServer } from './protocols/imap/server.ts';
import { createPop3Server } from './protocols/pop3/server.ts';
import { MailLogins } from './core/mail-login.ts';
import { LoginThrottle } from './core/login-throttle.ts';
import { createSubmission } from './protocols/smtp/submission.ts';
import { Outbound } from './core/outbound/outbound.ts';
import { MxTransport, SmarthostTransport } from './core/outbound/transport.ts';
import { dkimRecords, loadDkimKey } from './dkim.ts';
import { parseUpstream } from './core/upstream/source.ts';
import { UpstreamPuller } from './core/upstream/puller.ts';
import { createAuthFailureLimiter, createHttpServer } from './http/app.ts';
import { Router } from './http/router.ts';
import { aliasRoutes } from './http/routes/aliases.ts';
import { messageRoutes } from './http/routes/messages.ts';
import { systemRoutes } from './http/routes/system.ts';
import { pairRoutes } from './http/routes/pair.ts';
import { attachWebSocket } from './http/ws.ts';

export interface RunningRelay {
  /** The port each enabled listener actually bound. */
  ports: Partial<Record<Service, number>>;
  close(): Promise<void>;
}

/** A hidden knob for tests (e.g. a short idle timeout), read from the environment. */
function envMs(name: string): number | undefined {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

function listen(server: net.Server, port: number, host: string, service: Service): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the address is in use' : err.code === 'EACCES' ? 'permission denied' : err.message;
      reject(new Error(`cannot listen for ${service} on ${host}:${port}: ${why}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function startRelay(config: Config, log: Logger): Promise<RunningRelay> {
  // Before anything starts: a bad --upstream is a configuration error (named without its password).
  const upstreamSources = config.upstreams.map((url) => {
    try {
      return parseUpstream(url, { insecureTls: process.env.WISP_UPSTREAM_INSECURE_TLS === '1' });
    } catch (err) {
      throw new ConfigError(`--upstream (WISP_UPSTREAM): ${(err as Error).message}`);
    }
  });
  await fs.mkdir(config.dataDir, { recursive: true });
  const store = await openStore(config.db, { onError: (err) => log.warn({ err }, 'database connection error') });
  const metrics = createMetrics();
  // The bus and the locks of every node sharing this store (in-process on SQLite).
  const cluster = await joinCluster(config.db, store, log).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  const bus = cluster.bus;
  const users = new Users(store);
  const aliases = new Aliases(store, bus, { domains: config.domains, defaultTtl: config.defaultTtl, rateLimit: config.aliasRateLimit });
  const messages = new Messages(store, aliases, bus);
  const ingestThread = await startIngestThread(config.db, (err) => log.error({ err }, 'ingest thread failed'));
  const ingest = new Ingest(ingestThread.write, bus, (_count, seconds) => metrics.ingestSeconds.observe(seconds));
  // One throttle for IMAP, POP3 and submission, so failures on one count on the others.
  const logins = new MailLogins(store, users, new LoginThrottle());
  const expiry = new ExpirySweeper(store, bus, (err) => log.error({ err }, 'expiry sweep failed'), cluster.locks);
  aliases.onExpiryChange = (at) => expiry.notify(at);
  bus.subscribe((event) => {
    // Counted and logged by the node where it happened.
    if (event.type !== 'alias' || bus.isRemote?.(event)) return;
    if (event.event === 'created') metrics.aliasesCreated.inc();
    if (event.event === 'expired') {
      metrics.aliasesExpired.inc();
      log.info({ address: event.alias.address }, 'address expired');
    }
  });

  // A first start makes the user `me`, so the relay is usable with no setup at all.
  // Under a lock: nodes starting together on a fresh database make it once.
  const firstToken = await cluster.locks.withLock('first user', async () => ((await store.countUsers()) === 0 ? (await users.add('me')).token : null));

  // Outgoing mail: signed with the relay's DKIM key, queued in the store, sent by the worker.
  const hostname = os.hostname();
  const dkim = await loadDkimKey(config.dataDir);
  const transport = config.smarthost
    ? new SmarthostTransport(config.smarthost, hostname)
    : new MxTransport({ heloName: hostname, dnsServer: config.dnsServer, port: envMs('WISP_MX_PORT') ?? 25 });
  const outbound = new Outbound(
    { store, ingest, transport, signingKey: dkim, log },
    { hostname, queueLifetimeMs: config.queueLifetime * 1000, retryBaseMs: envMs('WISP_OUTBOUND_RETRY_MS'), leaseMs: envMs('WISP_OUTBOUND_LEASE_MS') },
  );

  const tls = await loadTlsIdentity({ dataDir: config.dataDir, certFile: config.tlsCert, keyFile: config.tlsKey, domains: config.domains });
  if (tls.generated) log.info({ cert: tls.certPath }, 'made a self-signed TLS certificate');

  // Listening lines and the first token are what a user starts the relay to see: they print at
  // any log level short of silent.
  const notice = log.level === 'silent' ? log : log.child({}, { level: 'info' });
  if (dkim.generated) {
    notice.info(
      { selector: dkim.selector, records: dkimRecords(dkim, config.domains), again: `wisp-relay dkim --data ${config.dataDir} prints them again` },
      'made a DKIM key: publish these DNS TXT records',
    );
  }
  const servers: net.Server[] = [];
  const closers: (() => void)[] = [];
  const ports: Partial<Record<Service, number>> = {};
  const started = async (service: Service, server: net.Server, port: number) => {
    servers.push(server);
    ports[service] = await listen(server, port, config.host, service);
    notice.info({ service, host: config.host, port: ports[service] }, 'listening');
  };

  try {
    if (config.ports.http !== null) {
      const authFailures = createAuthFailureLimiter();
      const router = new Router().add(...systemRoutes(store, metrics), ...pairRoutes(), ...aliasRoutes(aliases), ...messageRoutes(messages));
      const server = createHttpServer({ router, users, authFailures, log, metrics, maxConnections: config.maxConnections });
      const authTimeoutMs = Number(process.env.WISP_WS_AUTH_TIMEOUT_MS) || 10_000;
      closers.push(attachWebSocket(server, { users, store, bus, authFailures, log, metrics, authTimeoutMs }).close);
      await started('http', server, config.ports.http);
    }
    if (config.ports.smtp !== null) {
      const smtp = createInboundSmtp(
        { aliases, ingest, log, metrics },
        { key: tls.key, cert: tls.cert, maxMessageSize: config.maxMessageSize, maxConnections: config.maxConnections },
      );
      smtp.on('error', (err) => log.warn({ err }, 'smtp connection error'));
      // smtp-server's close ends lingering sessions after its closeTimeout instead of waiting on them.
      closers.push(() => smtp.close(() => {}));
      await started('smtp', smtp.server, config.ports.smtp);
    }
    if (config.ports.imap !== null || config.ports.imaps !== null) {
      const imap = createImapServer(
        { store, logins, bus, ingest, log },
        {
          key: tls.key,
          cert: tls.cert,
          maxMessageSize: config.maxMessageSize,
          maxConnections: config.maxConnections,
          unauthenticatedTimeoutMs: Number(process.env.WISP_IMAP_LOGIN_TIMEOUT_MS) || 60_000,
        },
      );
      closers.push(imap.close);
      if (config.ports.imap !== null) await started('imap', imap.plain, config.ports.imap);
      if (config.ports.imaps !== null) await started('imaps', imap.secure, config.ports.imaps);
    }
    if (config.ports.pop3 !== null || config.ports.pop3s !== null) {
      const pop3 = createPop3Server(
        { store, bus, logins, log },
        {
          key: tls.key,
          cert: tls.cert,
          maxConnections: config.maxConnections,
          unauthenticatedTimeoutMs: envMs('WISP_POP3_LOGIN_TIMEOUT_MS'),
          idleTimeoutMs: envMs('WISP_POP3_IDLE_TIMEOUT_MS'),
        },
      );
      closers.push(pop3.close);
      if (config.ports.pop3 !== null) await started('pop3', pop3.plain, config.ports.pop3);
      if (config.ports.pop3s !== null) await started('pop3s', pop3.secure, config.ports.pop3s);
    }
    if (config.ports.submission !== null || config.ports.smtps !== null) {
      const submission = createSubmission(
        { store, aliases, logins, outbound, log },
        { key: tls.key, cert: tls.cert, maxMessageSize: config.maxMessageSize, maxConnections: config.maxConnections, domains: config.domains, hostname },
      );
      for (const server of [submission.plain, submission.secure]) server.on('error', (err) => log.warn({ err }, 'submission connection error'));
      closers.push(() => void submission.close());
      if (config.ports.submission !== null) await started('submission', submission.plain.server, config.ports.submission);
      if (config.ports.smtps !== null) await started('smtps', submission.secure.server, config.ports.smtps);
    }
  } catch (err) {
    await Promise.all(servers.map(close));
    await ingestThread.close();
    await cluster.close();
    await store.close();
    throw err;
  }
  expiry.start();
  outbound.start();
  // Mail pulled from upstream mailboxes takes the same ingest path as SMTP mail. One node pulls
  // each mailbox (the one holding its lock); the others stand by and take over if it goes.
  const upstreamDeps = { store, ingest, aliases, domains: config.domains, maxMessageSize: config.maxMessageSize, hostname, log };
  const upstreams = upstreamSources.map(
    (source) =>
      new Exclusive(cluster.locks, `upstream ${source.label}`, () => new UpstreamPuller(source, upstreamDeps, { retryBaseMs: envMs('WISP_UPSTREAM_RETRY_MS') }), {
        retryMs: envMs('WISP_UPSTREAM_RETRY_MS'),
        onError: (err) => log.warn({ err, upstream: source.label }, 'upstream lock failed'),
        onChange: (running) => log.info({ upstream: source.label }, running ? 'pulling this upstream on this node' : 'stopped pulling this upstream'),
      }),
  );
  for (const upstream of upstreams) upstream.start();

  if (firstToken) {
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const relayUrl = ports.http !== undefined ? `http://${host}:${ports.http}` : null;
    notice.info(
      {
        user: 'me',
        token: firstToken,
        pairing: { relayUrl, token: firstToken, link: relayUrl ? `${relayUrl}/pair#token=${encodeURIComponent(firstToken)}` : null },
        hint: 'paste the relay URL and the token into the extension options',
        again: `wisp-relay user token me --data ${config.dataDir} prints a new token (tokens are stored hashed)`,
      },
      'first user created',
    );
  }

  return {
    ports,
    async close() {
      expiry.stop();
      await Promise.all(upstreams.map((u) => u.stop()));
      await outbound.stop();
      for (const closeOne of closers) closeOne();
      await Promise.all(servers.map(close));
      await ingestThread.close();
      await cluster.close();
      await store.close();
    },
  };
}

export { SERVICES };
