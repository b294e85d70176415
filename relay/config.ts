// One validated Config from flags, environment variables and defaults (INTERFACE.md §1).
// Precedence: a flag beats its variable, which beats the default.
import path from 'node:path';
import { parseDuration, parsePort, parseRate, parseSize } from './units.ts';
import type { Rate } from './units.ts';

export const SERVICES = ['http', 'smtp', 'submission', 'smtps', 'imap', 'imaps', 'pop3', 'pop3s'] as const;
export type Service = (typeof SERVICES)[number];

export interface Config {
  dataDir: string;
  db: string;
  domains: string[];
  host: string;
  /** null: the listener is off; 0: any free port. */
  ports: Record<Service, number | null>;
  tlsCert: string | null;
  tlsKey: string | null;
  /** Seconds; null: new addresses never expire. */
  defaultTtl: number | null;
  maxMessageSize: number;
  smarthost: URL | null;
  /** `host` or `host:port` of the DNS server for MX lookups; null: the system's. */
  dnsServer: string | null;
  /** Seconds outgoing mail is retried before it bounces. */
  queueLifetime: number;
  upstreams: URL[];
  /** How many addresses one user may make in a window. */
  aliasRateLimit: Rate;
  /** Simultaneous connections a listener accepts. */
  maxConnections: number;
  logLevel: string;
}

export class ConfigError extends Error {}

interface OptionSpec {
  flag: string;
  env: string;
  fallback: string;
  /** Repeatable flags collect every value; their variable is comma-separated. */
  repeatable?: boolean;
}

const OPTIONS = {
  data: { flag: 'data', env: 'WISP_DATA', fallback: './data' },
  db: { flag: 'db', env: 'WISP_DB', fallback: '' },
  domain: { flag: 'domain', env: 'WISP_DOMAINS', fallback: 'wisp.localhost' },
  host: { flag: 'host', env: 'WISP_HOST', fallback: '127.0.0.1' },
  http: { flag: 'http-port', env: 'WISP_HTTP_PORT', fallback: '8025' },
  smtp: { flag: 'smtp-port', env: 'WISP_SMTP_PORT', fallback: '2525' },
  submission: { flag: 'submission-port', env: 'WISP_SUBMISSION_PORT', fallback: '2587' },
  smtps: { flag: 'smtps-port', env: 'WISP_SMTPS_PORT', fallback: 'off' },
  imap: { flag: 'imap-port', env: 'WISP_IMAP_PORT', fallback: '1143' },
  imaps: { flag: 'imaps-port', env: 'WISP_IMAPS_PORT', fallback: 'off' },
  pop3: { flag: 'pop3-port', env: 'WISP_POP3_PORT', fallback: '1110' },
  pop3s: { flag: 'pop3s-port', env: 'WISP_POP3S_PORT', fallback: 'off' },
  tlsCert: { flag: 'tls-cert', env: 'WISP_TLS_CERT', fallback: '' },
  tlsKey: { flag: 'tls-key', env: 'WISP_TLS_KEY', fallback: '' },
  defaultTtl: { flag: 'default-ttl', env: 'WISP_DEFAULT_TTL', fallback: '24h' },
  maxMessageSize: { flag: 'max-message-size', env: 'WISP_MAX_MESSAGE_SIZE', fallback: '25MB' },
  smarthost: { flag: 'smarthost', env: 'WISP_SMARTHOST', fallback: 'none' },
  dnsServer: { flag: 'dns-server', env: 'WISP_DNS_SERVER', fallback: 'system' },
  queueLifetime: { flag: 'queue-lifetime', env: 'WISP_QUEUE_LIFETIME', fallback: '2d' },
  upstream: { flag: 'upstream', env: 'WISP_UPSTREAM', fallback: 'none', repeatable: true },
  aliasRateLimit: { flag: 'alias-rate-limit', env: 'WISP_ALIAS_RATE_LIMIT', fallback: '100/1h' },
  maxConnections: { flag: 'max-connections', env: 'WISP_MAX_CONNECTIONS', fallback: '1000' },
  logLevel: { flag: 'log-level', env: 'WISP_LOG_LEVEL', fallback: 'info' },
} satisfies Record<string, OptionSpec>;

type OptionName = keyof typeof OPTIONS;

/** The options `user` commands understand: where the data lives, nothing else. */
export const STORAGE_OPTIONS: OptionName[] = ['data', 'db'];

/**
 * Reads `--flag value` and `--flag=value` pairs. Throws ConfigError naming the first problem.
 * `allowed` limits which options the command accepts.
 */
export function parseFlags(argv: string[], allowed: readonly OptionName[] = Object.keys(OPTIONS) as OptionName[]): {
  values: Map<OptionName, string[]>;
  positional: string[];
} {
  const byFlag = new Map<string, OptionName>();
  for (const name of allowed) byFlag.set(OPTIONS[name].flag, name);
  const values = new Map<OptionName, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = arg.slice(2, eq === -1 ? undefined : eq);
    const name = byFlag.get(flag);
    if (!name) throw new ConfigError(`unknown option --${flag}`);
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else value = argv[++i];
    if (value === undefined) throw new ConfigError(`--${flag} needs a value`);
    const spec: OptionSpec = OPTIONS[name];
    const list = values.get(name) ?? [];
    if (list.length > 0 && !spec.repeatable) throw new ConfigError(`--${flag} is given twice`);
    list.push(value);
    values.set(name, list);
  }
  return { values, positional };
}

function pick(name: OptionName, flags: Map<OptionName, string[]>, env: NodeJS.ProcessEnv): string[] {
  const spec: OptionSpec = OPTIONS[name];
  const fromFlags = flags.get(name);
  if (fromFlags) return fromFlags;
  const fromEnv = env[spec.env];
  if (fromEnv !== undefined && fromEnv !== '') return spec.repeatable ? fromEnv.split(',') : [fromEnv];
  return [spec.fallback];
}

/** Runs `parse` and turns its error into a ConfigError that names the option. */
function checked<T>(name: OptionName, value: string, parse: (v: string) => T): T {
  try {
    return parse(value);
  } catch (err) {
    const spec: OptionSpec = OPTIONS[name];
    throw new ConfigError(`--${spec.flag} (${spec.env}): ${(err as Error).message}`);
  }
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

function parseDomains(text: string): string[] {
  const domains = text.split(',').map((d) => d.trim().toLowerCase()).filter(Boolean);
  if (domains.length === 0) throw new Error('at least one domain is needed');
  for (const d of domains) if (!DOMAIN.test(d)) throw new Error(`"${d}" is not a domain name`);
  return [...new Set(domains)];
}

function parseUrl(protocols: string[], hint: string) {
  return (text: string): URL | null => {
    if (text.trim().toLowerCase() === 'none') return null;
    let url: URL;
    try {
      url = new URL(text.trim());
    } catch {
      throw new Error(`"${text}" is not a URL (expected ${hint})`);
    }
    if (!protocols.includes(url.protocol)) throw new Error(`"${url.protocol}" is not supported (expected ${hint})`);
    if (!url.hostname) throw new Error(`"${text}" has no host`);
    return url;
  };
}

/** `system`, or an IP address with an optional port: `127.0.0.1`, `127.0.0.1:5353`, `[::1]:53`. */
function parseDnsServer(text: string): string | null {
  const value = text.trim();
  if (value.toLowerCase() === 'system') return null;
  const match = /^(?:\[([0-9a-f:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3}))(?::(\d{1,5}))?$/i.exec(value) ?? /^([0-9a-f:]+)()$/i.exec(value);
  if (!match || (match[3] !== undefined && (Number(match[3]) < 1 || Number(match[3]) > 65_535))) {
    throw new Error(`"${text}" is not an IP address with an optional port (or system)`);
  }
  return value;
}

function positiveInteger(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new Error(`"${text}" is not a positive whole number`);
  return Number(text);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The storage location alone, for commands that only touch the database. */
export function storageConfig(flags: Map<OptionName, string[]>, env: NodeJS.ProcessEnv = process.env) {
  const dataDir = path.resolve(pick('data', flags, env)[0] as string);
  const db = pick('db', flags, env)[0] || `sqlite:${path.join(dataDir, 'wisp.db')}`;
  return { dataDir, db };
}

export function buildConfig(flags: Map<OptionName, string[]>, env: NodeJS.ProcessEnv = process.env): Config {
  const one = (name: OptionName) => pick(name, flags, env)[0] as string;
  const ports = {} as Record<Service, number | null>;
  for (const service of SERVICES) ports[service] = checked(service, one(service), parsePort);

  const tlsCert = one('tlsCert') || null;
  const tlsKey = one('tlsKey') || null;
  if (Boolean(tlsCert) !== Boolean(tlsKey)) throw new ConfigError('--tls-cert and --tls-key go together: give both or neither');

  const logLevel = one('logLevel').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`--log-level: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);

  const upstreams = pick('upstream', flags, env)
    .map((u) => checked('upstream', u, parseUrl(['imap:', 'imaps:'], 'imap[s]://user:password@host/MAILBOX')))
    .filter((u): u is URL => u !== null);

  return {
    ...storageConfig(flags, env),
    domains: checked('domain', one('domain'), parseDomains),
    host: one('host'),
    ports,
    tlsCert,
    tlsKey,
    defaultTtl: checked('defaultTtl', one('defaultTtl'), parseDuration),
    maxMessageSize: checked('maxMessageSize', one('maxMessageSize'), parseSize),
    smarthost: checked('smarthost', one('smarthost'), parseUrl(['smtp:', 'smtps:'], 'smtp[s]://user:password@host:port')),
    dnsServer: checked('dnsServer', one('dnsServer'), parseDnsServer),
    queueLifetime: checked('queueLifetime', one('queueLifetime'), (v) => {
      const seconds = parseDuration(v);
      if (seconds === null) throw new Error('outgoing mail cannot be retried forever: give a duration');
      return seconds;
    }),
    upstreams,
    aliasRateLimit: checked('aliasRateLimit', one('aliasRateLimit'), parseRate),
    maxConnections: checked('maxConnections', one('maxConnections'), positiveInteger),
    logLevel,
  };
}

/** The usage text `wisp-relay --help` prints. */
export function usage(): string {
  const rows = Object.values(OPTIONS).map((o: OptionSpec) => `  --${o.flag.padEnd(18)} ${o.env.padEnd(24)} default: ${o.fallback || '(see below)'}`);
  return [
    'wisp-relay serve [options]',
    ...rows,
    '  Ports take off (disabled) or 0 (any free port). --db defaults to sqlite:<DATA>/wisp.db.',
    '',
    'wisp-relay user add NAME       [--data DIR] [--db URL]   create a user; prints its token',
    'wisp-relay user token NAME     [--data DIR] [--db URL]   print an additional token',
    'wisp-relay user list           [--data DIR] [--db URL]',
    'wisp-relay user remove NAME    [--data DIR] [--db URL]   remove the user, its addresses and mail',
    'wisp-relay dkim                [--data DIR] [--domain D] print the DKIM DNS records to publish',
  ].join('\n');
}
