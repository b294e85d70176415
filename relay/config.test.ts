import { describe, expect, it } from 'vitest';
import { ConfigError, buildConfig, parseFlags } from './config.ts';
import { parseDuration, parsePort, parseRate, parseSize } from './units.ts';

const configOf = (argv: string[], env: NodeJS.ProcessEnv = {}) => buildConfig(parseFlags(argv).values, env);

describe('units', () => {
  it('reads durations, with never for no expiry', () => {
    expect(parseDuration('10m')).toBe(600);
    expect(parseDuration('1h')).toBe(3600);
    expect(parseDuration('7d')).toBe(604_800);
    expect(parseDuration('45')).toBe(45);
    expect(parseDuration('never')).toBeNull();
    expect(() => parseDuration('5 parsecs')).toThrow(/not a duration/);
    expect(() => parseDuration('0s')).toThrow(/positive/);
  });

  it('reads sizes in binary units', () => {
    expect(parseSize('25MB')).toBe(25 * 1024 * 1024);
    expect(parseSize('512kb')).toBe(512 * 1024);
    expect(parseSize('1000')).toBe(1000);
    expect(() => parseSize('lots')).toThrow(/not a size/);
  });

  it('reads ports, off and 0', () => {
    expect(parsePort('off')).toBeNull();
    expect(parsePort('0')).toBe(0);
    expect(parsePort('2525')).toBe(2525);
    expect(() => parsePort('70000')).toThrow(/not a port/);
    expect(() => parsePort('banana')).toThrow(/not a port/);
  });

  it('reads rates', () => {
    expect(parseRate('100/1h')).toEqual({ count: 100, windowSeconds: 3600 });
    expect(() => parseRate('100')).toThrow(/COUNT\/DURATION/);
    expect(() => parseRate('5/never')).toThrow(/finite/);
  });
});

describe('config', () => {
  it('has the documented defaults', () => {
    const c = configOf([]);
    expect(c.domains).toEqual(['wisp.localhost']);
    expect(c.host).toBe('127.0.0.1');
    expect(c.ports).toEqual({ http: 8025, smtp: 2525, submission: 2587, smtps: null, imap: 1143, imaps: null, pop3: 1110, pop3s: null });
    expect(c.defaultTtl).toBe(86_400);
    expect(c.maxMessageSize).toBe(25 * 1024 * 1024);
    expect(c.db).toMatch(/^sqlite:.*data\/wisp\.db$/);
    expect(c.smarthost).toBeNull();
    expect(c.upstreams).toEqual([]);
  });

  it('takes flags over variables over defaults', () => {
    const env = { WISP_SMTP_PORT: '2600', WISP_HTTP_PORT: '9000', WISP_DOMAINS: 'a.test,B.test' };
    const c = configOf(['--smtp-port', '2700', '--imap-port=off'], env);
    expect(c.ports.smtp).toBe(2700);
    expect(c.ports.http).toBe(9000);
    expect(c.ports.imap).toBeNull();
    expect(c.domains).toEqual(['a.test', 'b.test']);
  });

  it('collects repeated upstreams, and splits the variable on commas', () => {
    expect(configOf(['--upstream', 'imaps://u:p@h1/INBOX', '--upstream', 'imap://u:p@h2/INBOX']).upstreams.map((u) => u.host)).toEqual(['h1', 'h2']);
    expect(configOf([], { WISP_UPSTREAM: 'imaps://u:p@h1/INBOX,imaps://u:p@h3/INBOX' }).upstreams).toHaveLength(2);
  });

  it('reads the outgoing mail options: DNS server and queue lifetime', () => {
    expect(configOf([])).toMatchObject({ dnsServer: null, queueLifetime: 2 * 86_400 });
    expect(configOf(['--dns-server', '127.0.0.1:5353', '--queue-lifetime', '6h'])).toMatchObject({ dnsServer: '127.0.0.1:5353', queueLifetime: 21_600 });
    expect(configOf([], { WISP_DNS_SERVER: '[::1]:53' }).dnsServer).toBe('[::1]:53');
    expect(configOf(['--dns-server', '::1']).dnsServer).toBe('::1');
    expect(() => configOf(['--dns-server', 'dns.example'])).toThrow(/--dns-server .*not an IP address/);
    expect(() => configOf(['--dns-server', '1.2.3.4:99999'])).toThrow(/--dns-server/);
    expect(() => configOf(['--queue-lifetime', 'never'])).toThrow(/--queue-lifetime .*duration/);
  });

  it('refuses wrong options with a sentence naming them', () => {
    expect(() => configOf(['--smtp-port', 'banana'])).toThrow(ConfigError);
    expect(() => configOf(['--smtp-port', 'banana'])).toThrow(/--smtp-port/);
    expect(() => configOf(['--colour', 'red'])).toThrow(/unknown option --colour/);
    expect(() => configOf(['--domain'])).toThrow(/needs a value/);
    expect(() => configOf(['--tls-cert', 'x.pem'])).toThrow(/go together/);
    expect(() => configOf(['--smarthost', 'ftp://x'])).toThrow(/not supported/);
    expect(() => configOf(['--domain', 'not a domain'])).toThrow(/not a domain/);
    expect(() => configOf(['--http-port', '1', '--http-port', '2'])).toThrow(/twice/);
  });
});
