// POP3 (INTERFACE.md §4) with real clients: Python's poplib (plain, STLS, implicit TLS), curl's
// pop3:// and fetchmail (which starts STLS by itself), each downloading byte for byte what the API
// serves as the raw message; DELE takes effect at QUIT only; one session per maildrop.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alias } from '../../shared/api.ts';
import { addUser, allMessages, api, createAlias, eventually, makeTempDir, run, startRelay, uniq } from '../support/relay.ts';
import type { Relay } from '../support/relay.ts';
import { SmtpSession, rfc822 } from '../support/smtp.ts';
import { Pop3Session } from '../support/pop3.ts';

let relay: Relay;

beforeAll(async () => {
  relay = await startRelay({ ports: { pop3: '0', pop3s: '0' } });
});

afterAll(async () => {
  await relay?.stop();
});

const pop3Port = () => relay.ports.pop3!;

/** The bytes GET /api/messages/{id}/raw serves. */
async function rawOf(id: string, token = relay.token): Promise<Buffer> {
  const res = await fetch(`${relay.http}/api/messages/${id}/raw`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** Delivers messages over SMTP and returns their ids, oldest first. */
async function deliver(alias: Alias, bodies: (string | Buffer)[], token = relay.token): Promise<string[]> {
  const s = await SmtpSession.connect(relay.smtpPort);
  try {
    await s.command('EHLO client.test');
    for (const body of bodies) {
      const r = await s.deliver('sender@example.com', [alias.address], body);
      expect(r.final?.code).toBe(250);
    }
  } finally {
    await s.quit();
  }
  const messages = await eventually(async () => {
    const list = await allMessages(relay, { alias: alias.address }, token);
    return list.length >= bodies.length ? list : null;
  });
  return messages.map((m) => m.id).reverse();
}

/** A message with the lines POP3 must stuff: a leading dot, a lone dot, two dots, 8-bit bytes. */
function awkward(to: string, tag: string): Buffer {
  return Buffer.concat([
    Buffer.from(rfc822({ to, subject: `awkward ${tag}`, body: '.leading dot\r\n.\r\n..two dots\r\nlast' }), 'latin1').subarray(0, -2),
    Buffer.from('\r\n8-bit: \xe9\xff\xfe end\r\n', 'latin1'),
  ]);
}

const PY_POPLIB = String.raw`
import base64, json, poplib, ssl, sys
mode, port, user, token = sys.argv[1:5]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3_SSL('127.0.0.1', int(port), context=ctx) if mode == 'ssl' else poplib.POP3('127.0.0.1', int(port))
out = {'welcome': p.getwelcome().decode('latin1'), 'capa_before': sorted(p.capa().keys())}
if mode == 'stls':
    p.stls(context=ctx)
    out['capa_after'] = sorted(p.capa().keys())
p.user(user)
p.pass_(token)
out['stat'] = list(p.stat())
out['list'] = [l.decode() for l in p.list()[1]]
out['uidl'] = [l.decode() for l in p.uidl()[1]]
out['retr'] = []
for n in range(1, out['stat'][0] + 1):
    resp, lines, octets = p.retr(n)
    out['retr'].append(base64.b64encode(b'\r\n'.join(lines) + b'\r\n').decode())
if out['stat'][0]:
    out['top'] = base64.b64encode(b'\r\n'.join(p.top(1, 1)[1]) + b'\r\n').decode()
    try:
        p.apop(user, token)
        out['apop'] = 'accepted'
    except poplib.error_proto as e:
        out['apop'] = str(e)
p.quit()
print(json.dumps(out))
`;

interface PoplibResult {
  welcome: string;
  capa_before: string[];
  capa_after?: string[];
  stat: [number, number];
  list: string[];
  uidl: string[];
  retr: string[];
  top?: string;
  apop?: string;
}

async function poplib(mode: 'plain' | 'stls' | 'ssl', user: string, token: string): Promise<PoplibResult> {
  const port = mode === 'ssl' ? relay.ports.pop3s! : pop3Port();
  const r = await run('python3', ['-c', PY_POPLIB, mode, String(port), user, token], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`poplib failed (${r.code}): ${r.stderr}\n${relay.output()}`);
  return JSON.parse(r.stdout) as PoplibResult;
}

describe('POP3 with real clients', () => {
  it('poplib over STLS downloads an address’s mail byte for byte, with LIST, UIDL and TOP', async () => {
    const alias = await createAlias(relay, { site: 'poplib.example' });
    const tag = uniq();
    const ids = await deliver(alias, [awkward(alias.address, tag), rfc822({ to: alias.address, subject: `plain ${tag}`, body: 'Your code is 482913' })]);
    const out = await poplib('stls', alias.address, relay.token);

    expect(out.welcome).toMatch(/^\+OK/);
    // No timestamp in the greeting: APOP is not offered, and poplib refuses to try it.
    expect(out.welcome).not.toMatch(/<.*>/);
    expect(out.apop).toMatch(/APOP not supported/);
    expect(out.capa_before).toEqual(expect.arrayContaining(['STLS', 'TOP', 'UIDL', 'USER', 'SASL', 'RESP-CODES', 'PIPELINING']));
    expect(out.capa_after).not.toContain('STLS');

    const raws = await Promise.all(ids.map((id) => rawOf(id)));
    expect(out.stat).toEqual([2, raws[0]!.length + raws[1]!.length]);
    expect(out.list).toEqual([`1 ${raws[0]!.length}`, `2 ${raws[1]!.length}`]);
    expect(out.uidl).toEqual([`1 ${ids[0]}`, `2 ${ids[1]}`]);
    out.retr.forEach((b64, i) => expect(Buffer.from(b64, 'base64').equals(raws[i]!)).toBe(true));
    expect(raws[0]!.toString('latin1')).toContain('\r\n.leading dot\r\n.\r\n..two dots\r\n');

    const top = Buffer.from(out.top!, 'base64').toString('latin1');
    const [head] = raws[0]!.toString('latin1').split('\r\n\r\n');
    expect(top).toBe(`${head}\r\n\r\n.leading dot\r\n`);
  });

  it('poplib over implicit TLS and in the clear on loopback, logged in by user name, sees the whole INBOX', async () => {
    const user = `pop${Date.now().toString(36)}`;
    const token = await addUser(relay, user);
    const a1 = await createAlias(relay, { site: 'one.example' }, token);
    const a2 = await createAlias(relay, { site: 'two.example' }, token);
    const ids = [...(await deliver(a1, [rfc822({ to: a1.address, subject: 'one' })], token)), ...(await deliver(a2, [rfc822({ to: a2.address, subject: 'two' })], token))];
    for (const mode of ['ssl', 'plain'] as const) {
      const out = await poplib(mode, user, token);
      expect(out.stat[0]).toBe(2);
      expect(out.uidl).toEqual([`1 ${ids[0]}`, `2 ${ids[1]}`]);
      for (const [i, b64] of out.retr.entries()) expect(Buffer.from(b64, 'base64').equals(await rawOf(ids[i]!, token))).toBe(true);
    }
    // An address login sees that address alone.
    const one = await poplib('plain', a2.address, token);
    expect(one.uidl).toEqual([`1 ${ids[1]}`]);
    // Another user's token does not open the address.
    const s = await Pop3Session.connect(pop3Port());
    expect(await s.login(a2.address, relay.token)).toMatch(/^-ERR \[AUTH\]/);
    await s.command('QUIT');
  });

  it('curl’s pop3:// lists and retrieves, in the clear and with STLS', async () => {
    const alias = await createAlias(relay, { site: 'curl.example' });
    const [id] = await deliver(alias, [awkward(alias.address, uniq())]);
    const url = `pop3://127.0.0.1:${pop3Port()}`;
    const user = `${alias.address}:${relay.token}`;
    const list = await run('curl', ['-sS', '--user', user, `${url}/`]);
    expect(list.code).toBe(0);
    expect(list.stdout.trim()).toBe(`1 ${(await rawOf(id!)).length}`);
    // curl writes binary bodies as they come; read its output as bytes through a file.
    const dir = makeTempDir('wisp-curl-');
    for (const extra of [[], ['--ssl-reqd', '-k'], ['--login-options', 'AUTH=PLAIN', '--ssl-reqd', '-k']]) {
      const file = path.join(dir, `m${extra.length}`);
      const r = await run('curl', ['-sS', ...extra, '--user', user, '-o', file, `${url}/1`]);
      expect(r.code, r.stderr).toBe(0);
      expect(fs.readFileSync(file).equals(await rawOf(id!))).toBe(true);
    }
  });

  it('fetchmail upgrades with STLS by itself and collects every message', async () => {
    const alias = await createAlias(relay, { site: 'fetchmail.example' });
    const ids = await deliver(alias, [awkward(alias.address, uniq()), rfc822({ to: alias.address, subject: 'second', body: 'hello\r\n.\r\nbye' })]);
    // Read first: fetchmail deletes what it fetched.
    const want = (await Promise.all(ids.map((id) => rawOf(id!)))).map((b) => b.toString('latin1').replace(/\r\n/g, '\n')).sort();
    const dir = makeTempDir('wisp-fetchmail-');
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    const rc = path.join(dir, 'rc');
    fs.writeFileSync(
      rc,
      [
        'set no bouncemail',
        // no Received line of its own: the delivered bytes are the server's
        'set invisible',
        `poll 127.0.0.1 with proto POP3 service ${pop3Port()} and options no dns`,
        `  user "${alias.address}" there with password "${relay.token}" is "root" here`,
        `  options fetchall no rewrite no sslcertck mda "sh -c 'cat > ${out}/$$.eml'"`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const r = await run('fetchmail', ['-f', rc, '--pidfile', path.join(dir, 'pid'), '-v', '--nosyslog'], { timeoutMs: 60_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const log = r.stdout + r.stderr;
    expect(log).toMatch(/POP3> STLS/);
    expect(log).toMatch(/upgrade to TLS succeeded/);
    // fetchmail hands the MDA LF line ends; otherwise the bytes are the server's.
    const got = fs
      .readdirSync(out)
      .map((f) => fs.readFileSync(path.join(out, f)).toString('latin1'))
      .sort();
    expect(got).toEqual(want);
    // Without `keep`, fetchmail deletes what it fetched: at its QUIT.
    await eventually(async () => (await allMessages(relay, { alias: alias.address })).length === 0, 10_000, 'the mailbox to be empty');
  });
});

describe('POP3 sessions', () => {
  it('DELE takes effect at QUIT, RSET undoes it, and a dropped connection deletes nothing', async () => {
    const alias = await createAlias(relay, { site: 'dele.example' });
    const ids = await deliver(alias, ['one', 'two', 'three'].map((subject) => rfc822({ to: alias.address, subject })));

    // Dropped after DELE: nothing goes.
    let s = await Pop3Session.connect(pop3Port());
    expect(await s.login(alias.address, relay.token)).toMatch(/^\+OK 3 messages/);
    expect(await s.command('DELE 1')).toMatch(/^\+OK/);
    expect(await s.command('DELE 1')).toMatch(/^-ERR .*deleted/);
    expect(await s.command('RETR 1')).toMatch(/^-ERR/);
    expect(await s.command('STAT')).toMatch(/^\+OK 2 /);
    s.destroy();
    await eventually(async () => {
      const probe = await Pop3Session.connect(pop3Port());
      const reply = await probe.login(alias.address, relay.token);
      await probe.command('QUIT');
      return reply.startsWith('+OK 3 messages');
    }, 10_000, 'the maildrop to be free and whole');

    // RSET unmarks; then DELE 2 and QUIT deletes exactly that one.
    s = await Pop3Session.connect(pop3Port());
    await s.login(alias.address, relay.token);
    await s.command('DELE 1');
    expect(await s.command('RSET')).toMatch(/^\+OK 3 messages/);
    expect(await s.command('DELE 2')).toMatch(/^\+OK/);
    expect((await api(relay, 'GET', `/api/messages/${ids[1]}`)).status).toBe(200);
    expect(await s.command('QUIT')).toMatch(/^\+OK .*1 deleted/);
    await s.waitClosed();
    expect((await api(relay, 'GET', `/api/messages/${ids[1]}`)).status).toBe(404);
    expect((await allMessages(relay, { alias: alias.address })).map((m) => m.id).reverse()).toEqual([ids[0], ids[2]]);

    // UIDs stay with their messages: message 2 is now what was message 3.
    s = await Pop3Session.connect(pop3Port());
    await s.login(alias.address, relay.token);
    const uidl = await s.multi('UIDL');
    expect(uidl.body!.toString()).toBe(`1 ${ids[0]}\r\n2 ${ids[2]}\r\n`);
    expect(await s.command('UIDL 2')).toBe(`+OK 2 ${ids[2]}`);
    await s.command('QUIT');
  });

  it('RETR marks a message seen at QUIT, not before', async () => {
    const alias = await createAlias(relay, { site: 'seen.example' });
    const [id] = await deliver(alias, [rfc822({ to: alias.address, subject: 'seen' })]);
    const s = await Pop3Session.connect(pop3Port());
    await s.login(alias.address, relay.token);
    await s.multi('RETR 1');
    expect((await api(relay, 'GET', `/api/messages/${id}`)).body.seen).toBe(false);
    await s.command('QUIT');
    await eventually(async () => (await api(relay, 'GET', `/api/messages/${id}`)).body.seen === true, 5000, 'seen');
  });

  it('refuses a second session on the same maildrop with [IN-USE]', async () => {
    const alias = await createAlias(relay, { site: 'inuse.example' });
    const first = await Pop3Session.connect(pop3Port());
    expect(await first.login(alias.address, relay.token)).toMatch(/^\+OK/);
    const second = await Pop3Session.connect(pop3Port());
    expect(await second.login(alias.address, relay.token)).toMatch(/^-ERR \[IN-USE\]/);
    // Still in AUTHORIZATION: it may try again once the first has gone.
    await first.command('QUIT');
    await first.waitClosed();
    expect(await second.login(alias.address, relay.token)).toMatch(/^\+OK/);
    await second.command('QUIT');
  });

  it('keeps UIDs across a restart', async () => {
    const alias = await createAlias(relay, { site: 'restart.example' });
    const ids = await deliver(alias, [rfc822({ to: alias.address, subject: 'a' }), rfc822({ to: alias.address, subject: 'b' })]);
    const uidl = async () => {
      const s = await Pop3Session.connect(pop3Port());
      await s.login(alias.address, relay.token);
      const r = (await s.multi('UIDL')).body!.toString();
      await s.command('QUIT');
      return r;
    };
    const before = await uidl();
    expect(before).toBe(`1 ${ids[0]}\r\n2 ${ids[1]}\r\n`);
    await relay.restart();
    expect(await uidl()).toBe(before);
  });
});

describe('POP3 edge cases over a raw socket', () => {
  it('answers bad commands, wrong states, wrong arguments and long lines with -ERR and carries on', async () => {
    const alias = await createAlias(relay, { site: 'edge.example' });
    await deliver(alias, [rfc822({ to: alias.address, subject: 'edge' })]);
    const s = await Pop3Session.connect(pop3Port());
    const transcript: [string, RegExp][] = [
      ['', /^-ERR/],
      ['HELO there', /^-ERR Unknown command/],
      ['STAT', /^-ERR STAT is not valid before logging in/],
      ['RETR 1', /^-ERR/],
      ['PASS nothing', /^-ERR Send USER first/],
      ['APOP me 0123456789abcdef0123456789abcdef', /^-ERR Unknown command/],
      ['AUTH CRAM-MD5', /^-ERR .*not supported/],
      [`NOOP ${'x'.repeat(2000)}`, /^-ERR The command line is longer/],
      ['capa', /^\+OK/],
    ];
    for (const [send, want] of transcript) {
      expect(await s.command(send), send.slice(0, 40)).toMatch(want);
      if (send === 'capa') await s.body();
    }
    expect(await s.login(alias.address, relay.token)).toMatch(/^\+OK 1 messages/);
    const after: [string, RegExp][] = [
      ['USER me', /^-ERR USER is not valid after logging in/],
      ['STLS', /^-ERR STLS is not valid after logging in/],
      ['RETR', /^-ERR Wrong number of arguments/],
      ['RETR 0', /^-ERR There is no message 0/],
      ['RETR 2', /^-ERR There is no message 2/],
      ['RETR x', /^-ERR "x" is not a message number/],
      ['TOP 1 -1', /^-ERR/],
      ['LIST 1 2', /^-ERR Wrong number/],
      ['NOOP', /^\+OK/],
      ['LIST 1', /^\+OK 1 \d+$/],
    ];
    for (const [send, want] of after) expect(await s.command(send), send).toMatch(want);
    await s.command('QUIT');
  });

  it('answers pipelined commands in order', async () => {
    const alias = await createAlias(relay, { site: 'pipe.example' });
    await deliver(alias, [rfc822({ to: alias.address, subject: 'p1' }), rfc822({ to: alias.address, subject: 'p2' })]);
    const s = await Pop3Session.connect(pop3Port());
    s.write(`USER ${alias.address}\r\nPASS ${relay.token}\r\nSTAT\r\nRETR 1\r\nRETR 2\r\nNOOP\r\nQUIT\r\n`);
    expect(await s.line()).toMatch(/^\+OK/);
    expect(await s.line()).toMatch(/^\+OK 2 messages/);
    expect(await s.line()).toMatch(/^\+OK 2 \d+/);
    expect(await s.line()).toMatch(/^\+OK \d+ octets/);
    expect((await s.body()).toString()).toContain('Subject: p1');
    expect(await s.line()).toMatch(/^\+OK/);
    expect((await s.body()).toString()).toContain('Subject: p2');
    expect(await s.line()).toBe('+OK');
    expect(await s.line()).toMatch(/^\+OK Bye/);
    await s.waitClosed();
  });

  it('AUTH PLAIN works with an initial response and with a continuation, and can be cancelled', async () => {
    const alias = await createAlias(relay, { site: 'sasl.example' });
    const plain = Buffer.from(`\0${alias.address}\0${relay.token}`).toString('base64');
    let s = await Pop3Session.connect(pop3Port());
    expect(await s.command(`AUTH PLAIN ${plain}`)).toMatch(/^\+OK 0 messages/);
    await s.command('QUIT');

    s = await Pop3Session.connect(pop3Port());
    expect(await s.command('AUTH PLAIN')).toBe('+ ');
    expect(await s.command('*')).toMatch(/^-ERR .*cancelled/);
    expect(await s.command('AUTH PLAIN')).toBe('+ ');
    expect(await s.command('not base64!')).toMatch(/^-ERR/);
    expect(await s.command('AUTH PLAIN')).toBe('+ ');
    expect(await s.command(plain)).toMatch(/^\+OK/);
    await s.command('QUIT');

    s = await Pop3Session.connect(pop3Port());
    const wrong = Buffer.from(`\0${alias.address}\0wisp_not-the-token-at-all-no`).toString('base64');
    expect(await s.command(`AUTH PLAIN ${wrong}`)).toMatch(/^-ERR \[AUTH\]/);
    await s.command('QUIT');
  });

  it('closes a connection after repeated failed logins', async () => {
    const s = await Pop3Session.connect(pop3Port());
    for (let i = 0; i < 5; i++) expect(await s.login(`nobody${i}-${uniq()}`, 'wisp_wrong-token-wrong-token')).toMatch(/^-ERR \[AUTH\]/);
    await s.waitClosed();
  });

  it('drops idle sessions without a word and without deleting anything', async () => {
    const quick = await startRelay({ ports: { pop3: '0' }, env: { WISP_POP3_LOGIN_TIMEOUT_MS: '400', WISP_POP3_IDLE_TIMEOUT_MS: '800' } });
    try {
      const alias = await createAlias(quick, { site: 'idle.example' });
      const s0 = await Pop3Session.connect(quick.ports.pop3!);
      await s0.waitClosed(5000);
      const m = await SmtpSession.connect(quick.smtpPort);
      await m.command('EHLO c.test');
      await m.deliver('x@example.com', [alias.address], rfc822({ to: alias.address }));
      await m.quit();
      const s = await Pop3Session.connect(quick.ports.pop3!);
      expect(await s.login(alias.address, quick.token)).toMatch(/^\+OK 1 messages/);
      await s.command('DELE 1');
      await s.waitClosed(5000);
      expect((await allMessages(quick, { alias: alias.address })).length).toBe(1);
    } finally {
      await quick.stop();
    }
  });
});
