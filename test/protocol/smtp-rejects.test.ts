// What inbound SMTP refuses, and how it survives hostile or odd input (INTERFACE.md §4): each
// case gets a clear reply, the relay keeps serving, and mail stored earlier stays listed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alias, MessageDetail, Summary } from '../../shared/api.ts';
import { allMessages, api, apiOk, createAlias, enc, sendMail, sleep, startRelay, uniq } from '../support/relay.ts';
import type { Relay } from '../support/relay.ts';
import { SmtpClosedError, SmtpSession, rfc822 } from '../support/smtp.ts';
import type { SmtpReply } from '../support/smtp.ts';

const MAX = 2 * 1024 * 1024;

let relay: Relay;
let good: Alias;
let earlier: Summary;

async function session(): Promise<SmtpSession> {
  const s = await SmtpSession.connect(relay.smtpPort);
  const ehlo = await s.command('EHLO client.test');
  expect(ehlo.code).toBe(250);
  return s;
}

/** RCPT for one address in a fresh transaction. */
async function rcpt(address: string): Promise<SmtpReply> {
  const s = await session();
  try {
    expect((await s.command('MAIL FROM:<sender@example.com>')).code).toBe(250);
    return await s.command(`RCPT TO:<${address}>`);
  } finally {
    await s.quit();
  }
}

/** One whole message through a fresh session; returns the reply to the final dot. */
async function deliverRaw(to: string, message: string | Buffer): Promise<SmtpReply> {
  const s = await session();
  try {
    const r = await s.deliver('sender@example.com', [to], message);
    if (!r.final) throw new Error(`delivery stopped early: ${JSON.stringify(r)}`);
    return r.final;
  } finally {
    await s.quit();
  }
}

function expectRefusedAsUnknown(r: SmtpReply): void {
  expect(r.code, r.text).toBe(550);
  expect(r.enhanced, r.text).toBe('5.1.1');
}

/** A clear reply: a complete SMTP reply with a 2xx, 4xx or 5xx code. */
function expectClear(r: SmtpReply): void {
  expect(r.code).toBeGreaterThanOrEqual(200);
  expect(r.code).toBeLessThan(600);
}

/** If the relay accepted it, the message is listed and its detail and raw are served. */
async function expectListedIfAccepted(final: SmtpReply, subjectPart: string): Promise<void> {
  if (final.code !== 250) {
    expect(final.code).toBeGreaterThanOrEqual(500);
    return;
  }
  const m = (await allMessages(relay, { alias: good.address })).find((x) => x.subject.includes(subjectPart));
  expect(m, `accepted message "${subjectPart}" is not listed`).toBeDefined();
  const d = await api<MessageDetail>(relay, 'GET', `/api/messages/${enc(m!.id)}`);
  expect(d.status).toBe(200);
  const raw = await api(relay, 'GET', `/api/messages/${enc(m!.id)}/raw`);
  expect(raw.status).toBe(200);
}

beforeAll(async () => {
  relay = await startRelay({ args: ['--max-message-size', '2MB'] });
  good = await createAlias(relay, { site: 'rejects.test', ttl: null });
  const subject = `earlier ${uniq()}`;
  await sendMail(relay, { to: good.address, subject, text: 'stored before the abuse' });
  earlier = (await allMessages(relay, { alias: good.address })).find((m) => m.subject === subject)!;
  expect(earlier).toBeDefined();
});

afterAll(async () => {
  await relay?.stop();
});

describe('recipients the relay refuses at RCPT', () => {
  it('an unknown address at a served domain: 550 5.1.1', async () => {
    expectRefusedAsUnknown(await rcpt(`nosuchaddress${Date.now()}@wisp.localhost`));
  });

  it('a domain the relay does not serve: refused at RCPT (no open relay)', async () => {
    for (const addr of ['someone@example.com', `x@sub.wisp.localhost`, 'x@wisp.localhost.evil.example', good.address.replace('@wisp.localhost', '@gmail.com')]) {
      const r = await rcpt(addr);
      expect(r.code, `${addr}: ${r.code} ${r.text}`).toBeGreaterThanOrEqual(550);
      expect(r.code, `${addr}: ${r.code} ${r.text}`).toBeLessThan(560);
    }
  });

  it('with no accepted recipient, DATA is refused and nothing is relayed', async () => {
    const s = await session();
    try {
      expect((await s.command('MAIL FROM:<sender@example.com>')).code).toBe(250);
      expect((await s.command('RCPT TO:<victim@example.com>')).code).toBeGreaterThanOrEqual(500);
      const data = await s.command('DATA');
      expect(data.code).toBeGreaterThanOrEqual(500);
    } finally {
      await s.quit();
    }
  });

  it('an inactive address (PATCH active false) is refused with 550 5.1.1, and accepted again once reactivated', async () => {
    const a = await createAlias(relay, { site: 'inactive.test', ttl: null });
    expect((await rcpt(a.address)).code).toBe(250);
    await apiOk(relay, 'PATCH', `/api/aliases/${enc(a.address)}`, { active: false });
    expectRefusedAsUnknown(await rcpt(a.address));
    await apiOk(relay, 'PATCH', `/api/aliases/${enc(a.address)}`, { active: true });
    expect((await rcpt(a.address)).code).toBe(250);
  });

  it('an expired address is refused with 550 5.1.1 as soon as its lifetime has passed', async () => {
    const a = await createAlias(relay, { site: 'expired.test', ttl: 1 });
    expect(a.expiresAt).not.toBeNull();
    const until = Date.parse(a.expiresAt!) + 150 - Date.now();
    if (until > 0) await sleep(until); // waiting for wall-clock time itself to pass
    expectRefusedAsUnknown(await rcpt(a.address));
  });

  it('an address is matched without regard to the case of its domain', async () => {
    const [local, domain] = good.address.split('@') as [string, string];
    expect((await rcpt(`${local}@${domain.toUpperCase()}`)).code).toBe(250);
  });
});

describe('size limit', () => {
  it('a message over --max-message-size gets 552, and the next message in the same session is accepted', async () => {
    const s = await session();
    try {
      const big = rfc822({ to: good.address, subject: `too big ${uniq()}`, body: ('x'.repeat(998) + '\r\n').repeat(Math.ceil((MAX + 200_000) / 1000)) });
      const r = await s.deliver('sender@example.com', [good.address], big);
      const refusal = r.final ?? r.data;
      expect(refusal?.code, JSON.stringify(r).slice(0, 500)).toBe(552);
      if (!s.closed) {
        const subject = `after big ${uniq()}`;
        const r2 = await s.deliver('sender@example.com', [good.address], rfc822({ to: good.address, subject }));
        expect(r2.final?.code).toBe(250);
      }
    } finally {
      await s.quit();
    }
  });

  it('a SIZE= declaration over the limit is refused at MAIL with 552', async () => {
    const s = await session();
    try {
      const r = await s.command(`MAIL FROM:<sender@example.com> SIZE=${MAX * 4}`);
      expect(r.code, r.text).toBe(552);
    } finally {
      await s.quit();
    }
  });
});

describe('odd but real mail gets a clear reply', () => {
  it('malformed MIME (unterminated multipart, bad base64, a header without a colon)', async () => {
    const subject = `malformed ${uniq()}`;
    const msg = [
      'From: sender@example.com',
      `To: ${good.address}`,
      `Subject: ${subject}`,
      'This line is not a header',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="BOUNDARY"',
      '',
      '--BOUNDARY',
      'Content-Type: text/plain; charset=no-such-charset',
      'Content-Transfer-Encoding: base64',
      '',
      '!!!not base64@@@',
      '--BOUNDARY',
      'Content-Type: multipart/alternative; boundary=',
      '',
      '--',
      'truncated, never closed',
    ].join('\r\n');
    const final = await deliverRaw(good.address, msg);
    expectClear(final);
    await expectListedIfAccepted(final, subject);
  });

  it('raw 8-bit UTF-8 in headers is accepted and decoded', async () => {
    const tag = uniq();
    const subject = `Grüße – 確認コード ${tag}`;
    const msg = Buffer.from(rfc822({ from: 'Jürgen Müller <j@example.de>', to: good.address, subject, body: 'Ihr Code: 830 441' }), 'utf8');
    const final = await deliverRaw(good.address, msg);
    expect(final.code, final.text).toBe(250);
    const m = (await allMessages(relay, { alias: good.address })).find((x) => x.subject.includes(tag));
    expect(m?.subject).toBe(subject);
    expect(m?.from).toContain('Jürgen Müller');
    expect(m?.code).toBe('830441');
  });

  it('a message without a Subject is accepted and listed', async () => {
    const messageId = `${uniq('nosubj')}@example.com`;
    const final = await deliverRaw(good.address, rfc822({ to: good.address, subject: null, messageId, body: 'no subject here' }));
    expect(final.code, final.text).toBe(250);
    const list = await allMessages(relay, { alias: good.address });
    const withRaw = await Promise.all(
      list.map(async (m) => ({ m, raw: (await api(relay, 'GET', `/api/messages/${enc(m.id)}/raw`)).text })),
    );
    const found = withRaw.find((x) => x.raw.includes(messageId));
    expect(found, 'the message without a subject is not listed').toBeDefined();
    expect(typeof found!.m.subject).toBe('string');
  });

  it('a 1 MB line inside DATA gets a clear reply', async () => {
    const subject = `long line ${uniq()}`;
    const final = await deliverRaw(good.address, rfc822({ to: good.address, subject, body: `start ${'y'.repeat(1024 * 1024)} end` }));
    expectClear(final);
    await expectListedIfAccepted(final, subject);
  });

  it('a 1 MB command line gets a 5xx reply (or 421) and the relay keeps serving', async () => {
    const s = await session();
    try {
      let reply: SmtpReply | null = null;
      try {
        reply = await s.command(`MAIL FROM:<${'a'.repeat(1024 * 1024)}@example.com>`, 15_000);
      } catch (e) {
        if (!(e instanceof SmtpClosedError)) throw e;
      }
      expect(reply, 'the connection was closed without a reply').not.toBeNull();
      expect([421, 500, 501, 552, 553, 554]).toContain(reply!.code);
    } finally {
      s.destroy();
    }
    expect((await rcpt(good.address)).code).toBe(250);
  });
});

describe('garbage commands', () => {
  // [name, line, may the relay hang up after its reply (as Postfix does on HTTP)?]
  const garbage: [string, string | Buffer, boolean][] = [
    ['unknown verb', 'HELLO there', false],
    ['binary noise', Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x80, 0x41]), false],
    ['empty line', '', false],
    ['MAIL with no argument', 'MAIL', false],
    ['MAIL with a broken path', 'MAIL FROM:<<<>>>', false],
    ['RCPT before MAIL', `RCPT TO:<x@wisp.localhost>`, false],
    ['DATA before RCPT', 'DATA', false],
    ['an HTTP request', 'GET / HTTP/1.1', true],
    ['AUTH on the inbound port', 'AUTH PLAIN AG1lAHh4eA==', false],
  ];
  for (const [name, line, mayClose] of garbage) {
    it(`${name}: a clear error reply${mayClose ? '' : ', and the session still works'}`, async () => {
      const s = await session();
      try {
        const r = await s.command(line);
        expect(r.code, `${name}: ${r.code} ${r.text}`).toBeGreaterThanOrEqual(mayClose ? 421 : 500);
        expect(r.code).toBeLessThan(600);
        if (!mayClose) {
          expect((await s.command('NOOP')).code).toBe(250);
        } else if (r.code !== 421) {
          // either it goes on serving or it hangs up; nothing else
          const noop = await s.command('NOOP').catch((e: unknown) => {
            if (e instanceof SmtpClosedError) return null;
            throw e;
          });
          if (noop) expect(noop.code).toBe(250);
        }
      } finally {
        s.destroy();
      }
    });
  }

  it('many garbage lines in a row get replies (possibly a final 421) and never crash the relay', async () => {
    const s = await session();
    let replies = 0;
    try {
      for (let i = 0; i < 30; i++) {
        const r = await s.command(`XYZZY ${i} ${'\u00ff'.repeat(i)}`);
        expect(r.code).toBeGreaterThanOrEqual(421);
        replies++;
        if (r.code === 421) break;
      }
    } catch (e) {
      if (!(e instanceof SmtpClosedError)) throw e;
    } finally {
      s.destroy();
    }
    expect(replies).toBeGreaterThan(0);
  });
});

describe('after all of the above', () => {
  it('the relay is still up, still accepts mail, and the earlier mail is still listed', async () => {
    expect(relay.proc.exitCode).toBeNull();
    expect((await api(relay, 'GET', '/healthz')).status).toBe(200);
    const subject = `final ${uniq()}`;
    const info = await sendMail(relay, { to: good.address, subject, text: 'still here' });
    expect(info.response).toMatch(/^250\b/);
    const list = await allMessages(relay, { alias: good.address });
    expect(list.map((m) => m.id)).toContain(earlier.id);
    expect(list.map((m) => m.subject)).toContain(subject);
    const d = await apiOk<MessageDetail>(relay, 'GET', `/api/messages/${enc(earlier.id)}`);
    expect(d.text ?? '').toContain('stored before the abuse');
  });
});
