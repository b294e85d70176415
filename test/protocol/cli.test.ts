// The command line (INTERFACE.md §1): serve's options and their variables, `off` and `0` ports,
// the first start, and `user add|token|list|remove` with the relay running or not.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alias } from '../../shared/api.ts';
import {
  addUser,
  api,
  apiOk,
  cli,
  createAlias,
  enc,
  makeTempDir,
  openWs,
  parseJsonLine,
  removeTempDir,
  sendMail,
  startRelay,
  tokenFrom,
  uniq,
  waitForSubject,
} from '../support/relay.ts';
import type { CliResult, Relay } from '../support/relay.ts';
import { SmtpSession } from '../support/smtp.ts';

let relay: Relay;
const extra: Relay[] = [];

beforeAll(async () => {
  relay = await startRelay();
});

afterAll(async () => {
  await Promise.all(extra.map((r) => r.stop()));
  await relay?.stop();
});

async function another(opts: Parameters<typeof startRelay>[0] = {}): Promise<Relay> {
  const r = await startRelay(opts);
  extra.push(r);
  return r;
}

const listening = (r: Relay, service: string) =>
  r.logs.map(parseJsonLine).filter((o) => o && o.msg === 'listening' && o.service === service);

async function rcptCode(port: number, address: string): Promise<{ code: number; enhanced: string | null }> {
  const s = await SmtpSession.connect(port);
  try {
    await s.command('EHLO client.test');
    await s.command('MAIL FROM:<x@example.com>');
    return await s.command(`RCPT TO:<${address}>`);
  } finally {
    await s.quit();
  }
}

/** A failed command: non-zero exit, one line on stderr that explains, no stack trace. */
function expectOneLineFailure(r: CliResult, what: string): void {
  const detail = `${what}\nexit ${r.code} signal ${r.signal} timedOut ${r.timedOut}\nstdout: ${r.stdout.slice(0, 1000)}\nstderr: ${r.stderr.slice(0, 1000)}`;
  expect(r.timedOut, `${detail}\n(it kept running, or started listening)`).toBe(false);
  expect(r.signal, detail).toBeNull();
  expect(r.code, detail).not.toBe(0);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, detail).toHaveLength(1);
  expect(lines[0]!.length, detail).toBeGreaterThan(5);
  expect(r.stderr, detail).not.toMatch(/\n\s+at |node:internal/);
}

describe.concurrent('first start', () => {
  it('creates the user "me" and prints its token once; a restart does not', async () => {
    const dir = makeTempDir();
    try {
      const r = await startRelay({ dataDir: dir });
      try {
        const line = r.logs.map(parseJsonLine).find((o) => o?.msg === 'first user created');
        expect(line, r.output()).toBeDefined();
        expect(line!.user).toBe('me');
        expect(typeof line!.token).toBe('string');
        expect((line!.token as string).length).toBeGreaterThanOrEqual(20);
        expect((await api(r, 'GET', '/api/aliases')).status).toBe(200);
        await r.restart();
        expect(r.printedFirstUser).toBe(false);
        expect((await api(r, 'GET', '/api/aliases')).status).toBe(200);
        const list = await cli(['user', 'list', '--data', dir]);
        expect(list.code).toBe(0);
        expect(list.stdout).toMatch(/\bme\b/);
      } finally {
        await r.stop();
      }
    } finally {
      removeTempDir(dir);
    }
  });

  it('a data dir that already has a user gets no "me" on first serve', async () => {
    const dir = makeTempDir();
    try {
      const token = tokenFrom((await cli(['user', 'add', 'carol', '--data', dir])).stdout);
      expect(token).toBeTruthy();
      const r = await startRelay({ dataDir: dir });
      try {
        expect(r.printedFirstUser).toBe(false);
        const ws = await openWs(r, token!);
        expect(await ws.next()).toEqual({ type: 'hello', user: 'carol' });
        ws.close();
        const list = await cli(['user', 'list', '--data', dir]);
        expect(list.stdout).toContain('carol');
        expect(list.stdout).not.toMatch(/\bme\b/);
      } finally {
        await r.stop();
      }
    } finally {
      removeTempDir(dir);
    }
  });
});

describe.concurrent('user commands (relay running)', () => {
  it('user add prints a token alone on its line; it works at once', async () => {
    const name = `alice${Date.now()}`;
    const r = await cli(['user', 'add', name, '--data', relay.dataDir]);
    expect(r.code, r.stderr).toBe(0);
    const token = tokenFrom(r.stdout);
    expect(token).toBeTruthy();
    expect(r.stdout.split('\n').map((l) => l.trim())).toContain(token);
    expect((await api(relay, 'GET', '/api/aliases', undefined, token)).status).toBe(200);
    const ws = await openWs(relay, token);
    expect(await ws.next()).toEqual({ type: 'hello', user: name });
    ws.close();

    expectOneLineFailure(await cli(['user', 'add', name, '--data', relay.dataDir]), 'adding an existing user');
  });

  it('user token prints an additional token; both work', async () => {
    const name = `tok${Date.now()}`;
    const t1 = await addUser(relay, name);
    const r = await cli(['user', 'token', name, '--data', relay.dataDir]);
    expect(r.code, r.stderr).toBe(0);
    const t2 = tokenFrom(r.stdout);
    expect(t2).toBeTruthy();
    expect(t2).not.toBe(t1);
    expect((await api(relay, 'GET', '/api/aliases', undefined, t1)).status).toBe(200);
    expect((await api(relay, 'GET', '/api/aliases', undefined, t2)).status).toBe(200);
    expectOneLineFailure(await cli(['user', 'token', `ghost${Date.now()}`, '--data', relay.dataDir]), 'token for an unknown user');
  });

  it('user list names every user', async () => {
    const name = `lister${Date.now()}`;
    await addUser(relay, name);
    const r = await cli(['user', 'list', '--data', relay.dataDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(name);
    expect(r.stdout).toMatch(/\bme\b/);
  });

  it('user remove removes the user, its tokens, its addresses and its mail', async () => {
    const name = `gone${Date.now()}`;
    const t1 = await addUser(relay, name);
    const t2 = tokenFrom((await cli(['user', 'token', name, '--data', relay.dataDir])).stdout)!;
    const alias = await createAlias(relay, { site: 'removed.test', ttl: null }, t1);
    const subject = `before removal ${uniq()}`;
    await sendMail(relay, { to: alias.address, subject, text: 'x' });
    await waitForSubject(relay, subject, t1);
    // someone else's mail must survive
    const mine = await createAlias(relay, { site: 'survivor.test', ttl: null });
    const mySubject = `survivor ${uniq()}`;
    await sendMail(relay, { to: mine.address, subject: mySubject, text: 'y' });
    await waitForSubject(relay, mySubject);

    const r = await cli(['user', 'remove', name, '--data', relay.dataDir]);
    expect(r.code, r.stderr).toBe(0);
    for (const t of [t1, t2]) expect((await api(relay, 'GET', '/api/aliases', undefined, t)).status).toBe(401);
    const list = await cli(['user', 'list', '--data', relay.dataDir]);
    expect(list.stdout).not.toContain(name);
    const rc = await rcptCode(relay.smtpPort, alias.address);
    expect(rc.code).toBe(550);
    expect(rc.enhanced).toBe('5.1.1');
    expect((await apiOk<Alias>(relay, 'GET', `/api/aliases/${enc(mine.address)}`)).messageCount).toBe(1);

    expectOneLineFailure(await cli(['user', 'remove', name, '--data', relay.dataDir]), 'removing a removed user');
  });

  it('user commands work with no relay running', async () => {
    const dir = makeTempDir();
    try {
      const add = await cli(['user', 'add', 'dave', '--data', dir]);
      expect(add.code, add.stderr).toBe(0);
      expect(tokenFrom(add.stdout)).toBeTruthy();
      const list = await cli(['user', 'list', '--data', dir]);
      expect(list.code).toBe(0);
      expect(list.stdout).toContain('dave');
      expect((await cli(['user', 'remove', 'dave', '--data', dir])).code).toBe(0);
      expect((await cli(['user', 'list', '--data', dir])).stdout).not.toContain('dave');
    } finally {
      removeTempDir(dir);
    }
  });
});

describe('bad options', () => {
  it('each exits non-zero with a one-line reason on stderr', async () => {
    const dir = makeTempDir();
    const serve = (ports: Record<string, string | null> = {}, more: string[] = []) => {
      const all: Record<string, string | null> = { http: '0', smtp: '0', submission: 'off', imap: 'off', pop3: 'off', ...ports };
      const args = ['serve', '--data', dir];
      for (const [k, v] of Object.entries(all)) if (v !== null) args.push(`--${k}-port`, v);
      return [...args, ...more];
    };
    const portInUse = net.createServer();
    await new Promise<void>((r) => portInUse.listen(0, '127.0.0.1', r));
    const busy = (portInUse.address() as net.AddressInfo).port;
    const cases: [string, string[], Record<string, string>?][] = [
      ['--smtp-port banana', serve({ smtp: 'banana' })],
      ['--default-ttl "5 parsecs"', serve({}, ['--default-ttl', '5 parsecs'])],
      ['an unknown flag', serve({}, ['--no-such-flag', 'x'])],
      ['--http-port 70000', serve({ http: '70000' })],
      ['--max-message-size lots', serve({}, ['--max-message-size', 'lots'])],
      ['--alias-rate-limit banana', serve({}, ['--alias-rate-limit', 'banana'])],
      ['--domain with a space', serve({}, ['--domain', 'not a domain'])],
      ['WISP_SMTP_PORT=banana', serve({ smtp: null }), { WISP_SMTP_PORT: 'banana' }],
      ['WISP_DEFAULT_TTL=forever-ish', serve(), { WISP_DEFAULT_TTL: 'forever-ish' }],
      ['an HTTP port already in use', serve({ http: String(busy) })],
      ['an unknown command', ['frobnicate']],
      ['user add without NAME', ['user', 'add', '--data', dir]],
      ['an unknown user subcommand', ['user', 'fly', 'x', '--data', dir]],
    ];
    try {
      const results = await Promise.all(
        cases.map(async ([what, args, env]) => ({
          what,
          // a relay that starts listening despite the bad option is killed at once (and fails)
          r: await cli(args, { env, timeoutMs: 15_000, stopWhen: what.includes('in use') ? undefined : (out) => /"msg"\s*:\s*"listening"/.test(out) }),
        })),
      );
      for (const { what, r } of results) expectOneLineFailure(r, what);
    } finally {
      portInUse.close();
      removeTempDir(dir);
    }
  }, 60_000);
});

describe.concurrent('ports', () => {
  it('`off` disables a listener', async () => {
    const r = await another({ ports: { smtp: 'off' } });
    expect(listening(r, 'http')).toHaveLength(1);
    expect(listening(r, 'smtp')).toHaveLength(0);
    for (const s of ['submission', 'imap', 'pop3', 'smtps', 'imaps', 'pop3s']) expect(listening(r, s), s).toHaveLength(0);
    expect((await api(r, 'GET', '/healthz')).status).toBe(200);
  });

  it('`0` takes a free port: two relays at once get distinct working ports', async () => {
    const [a, b] = await Promise.all([another(), another()]);
    const ports = [a!.httpPort, a!.smtpPort, b!.httpPort, b!.smtpPort];
    for (const p of ports) expect(p).toBeGreaterThan(0);
    expect(new Set(ports).size).toBe(4);
    for (const r of [a!, b!]) {
      expect((await api(r, 'GET', '/healthz')).status).toBe(200);
      const s = await SmtpSession.connect(r.smtpPort);
      expect(s.greeting.code).toBe(220);
      await s.quit();
    }
  });

  it('the WISP_* variables work, and a flag beats its variable', async () => {
    const r = await another({
      portFlags: false,
      args: ['--smtp-port', '0'],
      env: {
        WISP_HTTP_PORT: '0',
        WISP_SMTP_PORT: 'off',
        WISP_SUBMISSION_PORT: 'off',
        WISP_IMAP_PORT: 'off',
        WISP_POP3_PORT: 'off',
        WISP_DOMAINS: 'mail.example.test',
        WISP_DEFAULT_TTL: '10m',
      },
      expect: ['http', 'smtp'],
    });
    const a = await createAlias(r, { site: 'env.test' });
    expect(a.address).toMatch(/@mail\.example\.test$/);
    expect((Date.parse(a.expiresAt!) - Date.parse(a.createdAt)) / 1000).toBeCloseTo(600, 0);
    const subject = `env ${uniq()}`;
    await sendMail(r, { to: a.address, subject, text: 'hi' });
    await waitForSubject(r, subject);
    const wrong = await rcptCode(r.smtpPort, a.address.replace(/@.*/, '@wisp.localhost'));
    expect(wrong.code).toBeGreaterThanOrEqual(550);
  });

  it('--default-ttl never makes addresses that never expire; --domain takes a list', async () => {
    const r = await another({ args: ['--default-ttl', 'never', '--domain', 'one.test,two.test'] });
    const a = await createAlias(r, { site: 'never.test' });
    expect(a.expiresAt).toBeNull();
    expect(a.address).toMatch(/@(one|two)\.test$/);
    const subject = `domains ${uniq()}`;
    await sendMail(r, { to: a.address, subject, text: 'hi' });
    await waitForSubject(r, subject);
  });
});

describe('stopping', () => {
  it('SIGTERM stops the relay within 10 s', async () => {
    const r = await another();
    const t0 = Date.now();
    const exit = await Promise.race([r.kill('SIGTERM'), new Promise<null>((res) => setTimeout(() => res(null), 10_000))]);
    expect(exit, 'still running 10 s after SIGTERM').not.toBeNull();
    expect(Date.now() - t0).toBeLessThan(10_000);
  }, 20_000);
});
