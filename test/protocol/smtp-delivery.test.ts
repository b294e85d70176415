// Inbound SMTP (INTERFACE.md §4) with real clients: nodemailer (plain and STARTTLS), swaks and
// Python's smtplib. Each delivery must reach the API and the owner's WebSocket with the same
// summary, code and link.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alias, MessageDetail, Summary } from '../../shared/api.ts';
import {
  ISO_UTC,
  SUMMARY_KEYS,
  allMessages,
  api,
  apiOk,
  createAlias,
  enc,
  isMessageFrame,
  openWs,
  run,
  sendMail,
  startRelay,
  uniq,
} from '../support/relay.ts';
import type { Relay, WsClient } from '../support/relay.ts';
import { SmtpSession, rfc822 } from '../support/smtp.ts';

let relay: Relay;
let ws: WsClient;

beforeAll(async () => {
  relay = await startRelay();
  ws = await openWs(relay, relay.token);
  const hello = await ws.next();
  expect(hello).toEqual({ type: 'hello', user: relay.user });
});

afterAll(async () => {
  ws?.close();
  await relay?.stop();
});

/** The pushed summary of the next message for `address`. */
async function pushed(address: string, timeoutMs = 10_000): Promise<Summary> {
  const f = await ws.until((fr) => isMessageFrame(fr) && fr.message.alias === address, timeoutMs);
  if (!isMessageFrame(f)) throw new Error('unreachable');
  return f.message;
}

/** The API's listing of the alias's mail. */
async function listed(address: string): Promise<Summary[]> {
  return allMessages(relay, { alias: address });
}

describe('SMTP delivery with real clients', () => {
  it('EHLO offers STARTTLS on the inbound port', async () => {
    const s = await SmtpSession.connect(relay.smtpPort);
    try {
      expect(s.greeting.code).toBe(220);
      const ehlo = await s.command('EHLO client.test');
      expect(ehlo.code).toBe(250);
      expect(ehlo.lines.map((l) => l.slice(4).toUpperCase())).toContain('STARTTLS');
      const up = await s.starttls();
      expect(up.code).toBe(250);
    } finally {
      await s.quit();
    }
  });

  it('nodemailer over STARTTLS: pushed on the WebSocket with the code, and the API lists the same summary', async () => {
    const alias = await createAlias(relay, { site: 'https://github.com/signup' });
    expect(alias.site).toBe('github.com');
    const subject = `Your GitHub launch code ${uniq()}`;
    const info = await sendMail(
      relay,
      {
        from: 'GitHub <noreply@github.com>',
        to: alias.address,
        subject,
        text: 'Here is your GitHub launch code:\n\n482 913\n\nIt expires in 10 minutes.\n',
      },
      { tls: 'starttls' },
    );
    expect(info.response).toMatch(/^250\b/);
    expect(info.accepted).toEqual([alias.address]);

    const frame = await pushed(alias.address);
    expect(frame.code).toBe('482913');
    expect(frame.subject).toBe(subject);
    expect(frame.site).toBe('github.com');
    expect(frame.alias).toBe(alias.address);
    expect(frame.from).toContain('noreply@github.com');
    expect(frame.seen).toBe(false);
    expect(frame.receivedAt).toMatch(ISO_UTC);
    expect(frame.size).toBeGreaterThan(0);
    expect(Object.keys(frame).sort()).toEqual(SUMMARY_KEYS);

    const list = await listed(alias.address);
    expect(list).toHaveLength(1);
    expect(list[0]).toEqual(frame);

    const after = await apiOk<Alias>(relay, 'GET', `/api/aliases/${enc(alias.address)}`);
    expect(after.messageCount).toBe(1);
    expect(after.lastMessageAt).toBe(frame.receivedAt);
  });

  it('nodemailer in plain text (no TLS): an HTML mail with a confirmation link', async () => {
    const alias = await createAlias(relay, { site: 'example.org' });
    const subject = `Confirm your address ${uniq()}`;
    const url = 'https://example.org/confirm?token=Zq81kLp0xR&u=42';
    const info = await sendMail(relay, {
      from: 'Example <hello@example.org>',
      to: alias.address,
      subject,
      html: `<p>Welcome!</p><p><a href="${url.replace('&', '&amp;')}">Confirm your email</a></p>`,
    });
    expect(info.response).toMatch(/^250\b/);
    const frame = await pushed(alias.address);
    expect(frame.link).toBe(url);
    expect(frame.code).toBeNull();
    expect((await listed(alias.address))[0]).toEqual(frame);
  });

  it('swaks (plain) delivers', async () => {
    const alias = await createAlias(relay, { site: 'swaks.test' });
    const subject = `swaks plain ${uniq()}`;
    const r = await run('swaks', [
      '--server', `127.0.0.1:${relay.smtpPort}`,
      '--helo', 'client.test',
      '--from', 'swaks@example.net',
      '--to', alias.address,
      '--header', `Subject: ${subject}`,
      '--body', 'Your verification code is 771-204.',
      '--timeout', '15',
    ]);
    expect(r.code, `swaks failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
    const frame = await pushed(alias.address);
    expect(frame.subject).toBe(subject);
    expect(frame.code).toBe('771204');
    expect((await listed(alias.address))[0]).toEqual(frame);
  });

  it('swaks with --tls (STARTTLS) delivers', async () => {
    const alias = await createAlias(relay, { site: 'swaks-tls.test' });
    const subject = `swaks tls ${uniq()}`;
    const r = await run('swaks', [
      '--server', `127.0.0.1:${relay.smtpPort}`,
      '--tls',
      '--helo', 'client.test',
      '--from', 'swaks@example.net',
      '--to', alias.address,
      '--header', `Subject: ${subject}`,
      '--body', 'nothing to see',
      '--timeout', '15',
    ]);
    expect(r.code, `swaks --tls failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/TLS started/i);
    const frame = await pushed(alias.address);
    expect(frame.subject).toBe(subject);
  });

  it("Python's smtplib with STARTTLS delivers", async () => {
    const alias = await createAlias(relay, { site: 'python.org' });
    const subject = `smtplib ${uniq()}`;
    const script = [
      'import smtplib, ssl, sys',
      'from email.message import EmailMessage',
      'port, to, subject = int(sys.argv[1]), sys.argv[2], sys.argv[3]',
      'ctx = ssl.create_default_context()',
      'ctx.check_hostname = False',
      'ctx.verify_mode = ssl.CERT_NONE',
      "s = smtplib.SMTP('127.0.0.1', port, local_hostname='client.test', timeout=15)",
      's.ehlo()',
      "if not s.has_extn('starttls'):",
      "    print('no STARTTLS offered'); sys.exit(3)",
      's.starttls(context=ctx)',
      's.ehlo()',
      'm = EmailMessage()',
      "m['From'] = 'Python <py@example.com>'",
      "m['To'] = to",
      "m['Subject'] = subject",
      "m.set_content('Your verification code is 5531. Do not share it.')",
      'refused = s.send_message(m)',
      "print('refused', refused)",
      's.quit()',
    ].join('\n');
    const r = await run('python3', ['-c', script, String(relay.smtpPort), alias.address, subject]);
    expect(r.code, `python smtplib failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('refused {}');
    const frame = await pushed(alias.address);
    expect(frame.subject).toBe(subject);
    expect(frame.code).toBe('5531');
  });

  it('stores the message as received: /raw ends with the exact bytes sent', async () => {
    const alias = await createAlias(relay, { site: 'raw.test' });
    const subject = `raw ${uniq()}`;
    const messageId = `${uniq('raw')}@example.com`;
    const message = rfc822({ to: alias.address, subject, messageId, body: 'line one\r\n.leading dot line\r\nline three' });
    const s = await SmtpSession.connect(relay.smtpPort);
    try {
      expect((await s.command('EHLO client.test')).code).toBe(250);
      const r = await s.deliver('sender@example.com', [alias.address], message);
      expect(r.final?.code, JSON.stringify(r)).toBe(250);
    } finally {
      await s.quit();
    }
    const frame = await pushed(alias.address);
    const raw = await api(relay, 'GET', `/api/messages/${enc(frame.id)}/raw`);
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type') ?? '').toMatch(/^message\/rfc822/);
    expect(raw.text.endsWith(message)).toBe(true);
  });

  it('accepts the null sender (bounces) MAIL FROM:<>', async () => {
    const alias = await createAlias(relay, { site: 'bounce.test' });
    const subject = `bounce ${uniq()}`;
    const s = await SmtpSession.connect(relay.smtpPort);
    try {
      await s.command('EHLO client.test');
      const r = await s.deliver('', [alias.address], rfc822({ from: 'MAILER-DAEMON <mailer-daemon@example.com>', to: alias.address, subject }));
      expect(r.mail.code).toBe(250);
      expect(r.final?.code, JSON.stringify(r)).toBe(250);
    } finally {
      await s.quit();
    }
    expect((await pushed(alias.address)).subject).toBe(subject);
  });

  it('one transaction to two of the user’s addresses (and one unknown): each address lists the mail', async () => {
    const a = await createAlias(relay, { site: 'multi-a.test' });
    const b = await createAlias(relay, { site: 'multi-b.test' });
    const unknown = `nobody${Date.now()}@wisp.localhost`;
    const subject = `multi ${uniq()}`;
    const s = await SmtpSession.connect(relay.smtpPort);
    try {
      await s.command('EHLO client.test');
      const r = await s.deliver('sender@example.com', [a.address, unknown, b.address], rfc822({ to: `${a.address}, ${b.address}`, subject }));
      expect(r.rcpt.map((x) => x.code)).toEqual([250, 550, 250]);
      expect(r.final?.code).toBe(250);
    } finally {
      await s.quit();
    }
    const pa = await pushed(a.address);
    const pb = await pushed(b.address);
    expect(pa.subject).toBe(subject);
    expect(pb.subject).toBe(subject);
    expect((await listed(a.address)).map((m) => m.subject)).toEqual([subject]);
    expect((await listed(b.address)).map((m) => m.subject)).toEqual([subject]);
  });

  it('detail of a delivered message carries text, headers and the same summary fields', async () => {
    const alias = await createAlias(relay, { site: 'detail.test' });
    const subject = `detail ${uniq()}`;
    const messageId = `<${uniq('id')}@example.com>`;
    await sendMail(relay, { to: alias.address, subject, text: 'Plain body text here.', messageId });
    const frame = await pushed(alias.address);
    const d = await apiOk<MessageDetail>(relay, 'GET', `/api/messages/${enc(frame.id)}`);
    for (const k of SUMMARY_KEYS) expect(d[k as keyof Summary], k).toEqual(frame[k as keyof Summary]);
    expect(d.text ?? '').toContain('Plain body text here.');
    const headers = Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k.toLowerCase(), v]));
    expect(headers['message-id']).toContain(messageId.slice(1, -1));
    expect(headers['subject']).toBe(subject);
    expect(d.attachments).toEqual([]);
  });
});
