// SMTP submission (INTERFACE.md §4) with real clients: nodemailer and Python's smtplib, STARTTLS
// before AUTH, sending only as one's own addresses; then delivery by MX lookup (a DNS server of
// our own on loopback) to a sink that checks the DKIM signature, bounces when a recipient refuses
// or the queue lifetime runs out, and local recipients delivered at once.
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import nodemailer from 'nodemailer';
import type { SendMailOptions } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alias } from '../../shared/api.ts';
import { allMessages, api, cli, createAlias, eventually, parseJsonLine, run, startRelay, uniq } from '../support/relay.ts';
import type { Relay } from '../support/relay.ts';
import { startDns } from '../support/dns.ts';
import type { DnsServer } from '../support/dns.ts';
import { startSink } from '../support/sink.ts';
import type { Sink, SunkMessage } from '../support/sink.ts';
import { SmtpSession } from '../support/smtp.ts';

let relay: Relay;
let dns: DnsServer;
let sink: Sink;
let sender: Alias;
let record: { name: string; value: string };

beforeAll(async () => {
  sink = await startSink({ refuse: (rcpt) => (rcpt.startsWith('reject') ? 550 : null) });
  dns = await startDns({
    'example.test': { MX: [{ priority: 10, exchange: 'mx.example.test' }] },
    'mx.example.test': { A: ['127.0.0.1'] },
    // No MX: the domain's own address takes the mail (RFC 5321 §5.1).
    'implicit.test': { A: ['127.0.0.1'] },
    // Its MX answers nowhere: mail to it waits, then bounces.
    'down.test': { MX: [{ priority: 5, exchange: 'mx.down.test' }] },
    'mx.down.test': { A: ['127.0.0.2'] },
  });
  relay = await startRelay({
    ports: { submission: '0', smtps: '0' },
    args: ['--dns-server', dns.address, '--queue-lifetime', '4s'],
    env: { WISP_MX_PORT: String(sink.port), WISP_OUTBOUND_RETRY_MS: '300' },
  });
  sender = await createAlias(relay, { site: 'shop.example' });
  const made = relay.logs.map(parseJsonLine).find((l) => l?.msg === 'made a DKIM key: publish these DNS TXT records');
  record = (made?.records as { name: string; value: string }[])[0]!;
});

afterAll(async () => {
  await relay?.stop();
  await sink?.close();
  await dns?.close();
});

function transport(opts: { port?: number; secure?: boolean; user?: string; pass?: string } = {}) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: opts.port ?? relay.ports.submission!,
    secure: opts.secure ?? false,
    requireTLS: !opts.secure,
    tls: { rejectUnauthorized: false },
    auth: { user: opts.user ?? relay.user, pass: opts.pass ?? relay.token },
  });
}

async function send(mail: SendMailOptions, opts: Parameters<typeof transport>[0] = {}) {
  const t = transport(opts);
  try {
    return await t.sendMail(mail);
  } finally {
    t.close();
  }
}

/** The sink's message with this subject, once it arrives. */
async function sunk(subject: string, timeoutMs = 15_000): Promise<SunkMessage> {
  return eventually(async () => sink.messages.find((m) => m.raw.toString('latin1').includes(`Subject: ${subject}`)), timeoutMs, `"${subject}" at the sink`);
}

/** DKIM results with our published record as the only DNS answer. */
async function verify(raw: Buffer) {
  const resolver = async (name: string, type: string) => {
    if (type === 'TXT' && name === record.name) return [[record.value]];
    throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
  };
  return (await dkimVerify(raw, { resolver })).results;
}

describe('DKIM key', () => {
  it('is made on first start, logged, and printed again by `wisp-relay dkim`', async () => {
    expect(record.name).toBe('wisp._domainkey.wisp.localhost');
    expect(record.value).toMatch(/^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]{300,}={0,2}$/);
    const r = await cli(['dkim', '--data', relay.dataDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(record.value);
    expect(r.stdout).toContain(`${record.name}. IN TXT ( "v=DKIM1; k=rsa; p=`);
    expect(r.stdout).not.toContain('made a new DKIM key');
  });
});

describe('submission: TLS and AUTH', () => {
  it('offers AUTH only after STARTTLS and refuses it before', async () => {
    const s = await SmtpSession.connect(relay.ports.submission!);
    try {
      const ehlo = await s.command('EHLO client.test');
      const features = ehlo.lines.map((l) => l.slice(4).toUpperCase());
      expect(features).toContain('STARTTLS');
      expect(features.some((f) => f.startsWith('AUTH'))).toBe(false);
      const auth = await s.command(`AUTH PLAIN ${Buffer.from(`\0${relay.user}\0${relay.token}`).toString('base64')}`);
      expect(auth.code).toBeGreaterThanOrEqual(500);
      expect((await s.command(`MAIL FROM:<${sender.address}>`)).code).toBe(530);
      const after = await s.starttls();
      expect(after.lines.map((l) => l.slice(4).toUpperCase())).toContain('AUTH PLAIN LOGIN');
      const ok = await s.command(`AUTH PLAIN ${Buffer.from(`\0${relay.user}\0${relay.token}`).toString('base64')}`);
      expect(ok.code).toBe(235);
    } finally {
      await s.quit();
    }
  });

  it('refuses a wrong token', async () => {
    await expect(send({ from: sender.address, to: 'x@example.test', subject: 'no', text: 'no' }, { pass: 'wisp_wrong-token-wrong-token-wrong' })).rejects.toMatchObject({ responseCode: 535 });
  });
});

describe('submission: who may send as what', () => {
  it('refuses an envelope sender or a From that is not one of the user’s active addresses with 550', async () => {
    const other = await createAlias(relay, { site: 'other.example' });
    await api(relay, 'PATCH', `/api/aliases/${other.address}`, { active: false });
    const cases: SendMailOptions[] = [
      { envelope: { from: 'someone@gmail.com', to: 'x@example.test' }, from: sender.address },
      { envelope: { from: sender.address, to: 'x@example.test' }, from: 'someone@gmail.com' },
      { envelope: { from: sender.address, to: 'x@example.test' }, from: [sender.address, 'someone@gmail.com'] },
      { envelope: { from: other.address, to: 'x@example.test' }, from: other.address },
      { envelope: { from: '', to: 'x@example.test' }, from: sender.address },
    ];
    for (const mail of cases) {
      await expect(send({ ...mail, subject: 'spoof', text: 'x' }), JSON.stringify(mail)).rejects.toMatchObject({ responseCode: 550 });
    }
  });

  it('an address login sends as that address alone', async () => {
    const mine = await createAlias(relay, { site: 'mine.example' });
    await expect(send({ from: sender.address, to: 'x@example.test', subject: 'as other', text: 'x' }, { user: mine.address })).rejects.toMatchObject({ responseCode: 550 });
    const subject = `as itself ${uniq()}`;
    await send({ from: mine.address, to: 'x@example.test', subject, text: 'x' }, { user: mine.address });
    expect((await sunk(subject)).from).toBe(mine.address);
  });
});

describe('submission: delivery', () => {
  it('nodemailer → queue → MX found in DNS → sink, over STARTTLS, DKIM-signed, threading kept', async () => {
    const subject = `Re: your order ${uniq()}`;
    const info = await send({
      from: `Me <${sender.address}>`,
      to: 'Shop <orders@example.test>',
      bcc: 'secret@example.test',
      subject,
      text: 'Thanks!\n.\nA line with a dot.',
      inReplyTo: '<order-42@shop.example>',
      references: ['<order-41@shop.example>', '<order-42@shop.example>'],
    });
    expect(info.response).toMatch(/^250 /);
    const got = await sunk(subject);
    expect(got.from).toBe(sender.address);
    expect(got.to.sort()).toEqual(['orders@example.test', 'secret@example.test']);
    expect(got.secure).toBe(true);
    const text = got.raw.toString('latin1');
    expect(text).toMatch(/^DKIM-Signature: /);
    expect(text).toContain(`From: Me <${sender.address}>`);
    expect(text).toContain('In-Reply-To: <order-42@shop.example>');
    expect(text).toContain('References: <order-41@shop.example> <order-42@shop.example>');
    expect(text).not.toMatch(/^Bcc:/im);
    expect(text).not.toContain('127.0.0.1');
    const results = await verify(got.raw);
    expect(results[0]).toMatchObject({ signingDomain: 'wisp.localhost', selector: 'wisp', status: { result: 'pass' } });
    expect(dns.queries.some((q) => q.name === 'example.test' && q.type === 15)).toBe(true);
  });

  it('smtplib over implicit TLS with AUTH LOGIN, and over STARTTLS with AUTH PLAIN; Date and Message-ID are added', async () => {
    const subjects = [`smtplib ssl ${uniq()}`, `smtplib starttls ${uniq()}`];
    const script = String.raw`
import smtplib, ssl, sys
mode, port, user, token, sender, subject = sys.argv[1:7]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
msg = f"From: {sender}\r\nTo: someone@implicit.test\r\nSubject: {subject}\r\n\r\nhello from smtplib\r\n"
if mode == 'ssl':
    s = smtplib.SMTP_SSL('127.0.0.1', int(port), context=ctx)
    s.ehlo()
    s.user, s.password = user, token
    s.auth('LOGIN', s.auth_login, initial_response_ok=False)
else:
    s = smtplib.SMTP('127.0.0.1', int(port))
    s.ehlo()
    assert not s.has_extn('auth'), 'AUTH offered before STARTTLS'
    s.starttls(context=ctx)
    s.ehlo()
    s.login(user, token)
s.sendmail(sender, ['someone@implicit.test'], msg)
s.quit()
`;
    const ports = [relay.ports.smtps!, relay.ports.submission!];
    for (const [i, mode] of (['ssl', 'starttls'] as const).entries()) {
      const r = await run('python3', ['-c', script, mode, String(ports[i]), relay.user, relay.token, sender.address, subjects[i]!]);
      expect(r.code, r.stderr).toBe(0);
    }
    for (const subject of subjects) {
      const got = await sunk(subject);
      expect(got.to).toEqual(['someone@implicit.test']);
      const text = got.raw.toString('latin1');
      expect(text).toMatch(/\r\nMessage-ID: <[^>]+@wisp\.localhost>\r\n/);
      expect(text).toMatch(/\r\nDate: \w{3}, \d{2} \w{3} \d{4} /);
      expect((await verify(got.raw))[0]?.status.result).toBe('pass');
    }
  });

  it('delivers to the relay’s own addresses at once and refuses unknown ones at RCPT', async () => {
    const friend = await createAlias(relay, { site: 'friend.example' });
    const subject = `local ${uniq()}`;
    await send({ from: sender.address, to: friend.address, subject, text: 'hi friend' });
    const [m] = await allMessages(relay, { alias: friend.address });
    expect(m?.subject).toBe(subject);
    await expect(send({ from: sender.address, to: 'nobody.aaaaaaaaaa@wisp.localhost', subject: 'x', text: 'x' })).rejects.toMatchObject({ responseCode: 550 });
  });

  it('bounces a refused recipient to the sender at once, and delivers to the others', async () => {
    const subject = `partly refused ${uniq()}`;
    await send({ from: sender.address, to: ['reject-me@example.test', 'fine@example.test'], subject, text: 'x' });
    expect((await sunk(subject)).to).toEqual(['fine@example.test']);
    const bounce = await eventually(
      async () => (await allMessages(relay, { alias: sender.address })).find((m) => m.subject === `Undelivered mail: ${subject}`),
      10_000,
      'the bounce',
    );
    const res = await fetch(`${relay.http}/api/messages/${bounce.id}/raw`, { headers: { authorization: `Bearer ${relay.token}` } });
    const raw = await res.text();
    expect(raw).toMatch(/Content-Type: multipart\/report; report-type=delivery-status/);
    expect(raw).toContain('Final-Recipient: rfc822; reject-me@example.test');
    expect(raw).toContain('Status: 5.1.1');
    expect(raw).not.toContain('Final-Recipient: rfc822; fine@example.test');
  });

  it('retries an unreachable MX with backoff, then bounces when the queue lifetime runs out', async () => {
    const subject = `never arrives ${uniq()}`;
    const started = Date.now();
    await send({ from: sender.address, to: 'someone@down.test', subject, text: 'x' });
    const bounce = await eventually(
      async () => (await allMessages(relay, { alias: sender.address })).find((m) => m.subject === `Undelivered mail: ${subject}`),
      20_000,
      'the bounce',
    );
    // Not before the lifetime (4 s) ran out, and after several tries.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3500);
    const deferred = relay.logs.map(parseJsonLine).filter((l) => l?.msg === 'deferred' && (l.to as string[] | undefined)?.includes('someone@down.test'));
    expect(deferred.length).toBeGreaterThanOrEqual(2);
    const raw = await (await fetch(`${relay.http}/api/messages/${bounce.id}/raw`, { headers: { authorization: `Bearer ${relay.token}` } })).text();
    expect(raw).toContain('Final-Recipient: rfc822; someone@down.test');
    expect(raw).toContain('given up');
  });
});
