import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { InProcessBus } from '../events.ts';
import { Ingest, inlineWriter } from '../ingest.ts';
import type { Store } from '../ports.ts';
import { openSqliteStore } from '../../store/sqlite/store.ts';
import { buildBounce } from './dsn.ts';
import { fromAddresses, parseHeader, prepareSubmission } from './headers.ts';
import { Outbound, groupByDomain } from './outbound.ts';
import type { AttemptResult, Envelope, Transport } from './transport.ts';
import { classify } from './transport.ts';

const b = (s: string) => Buffer.from(s, 'latin1');
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });

describe('prepareSubmission', () => {
  const now = new Date(Date.UTC(2030, 0, 2, 3, 4, 5));

  it('adds Date and Message-ID when missing, drops Bcc (folded too), keeps threading and the body', () => {
    const raw = b('From: a@w.test\r\nBcc: x@y.test,\r\n  z@y.test\r\nIn-Reply-To: <p@q>\r\nReferences: <o@q>\r\n <p@q>\r\nSubject: Re: hi\r\n\r\n.body\r\n\xe9\r\n');
    const { message, messageId } = prepareSubmission(raw, { domain: 'w.test', now });
    const text = message.toString('latin1');
    expect(messageId).toMatch(/^<[^@>]+@w\.test>$/);
    expect(text).toBe(
      `Message-ID: ${messageId}\r\nDate: Wed, 02 Jan 2030 03:04:05 +0000\r\nFrom: a@w.test\r\nIn-Reply-To: <p@q>\r\nReferences: <o@q>\r\n <p@q>\r\nSubject: Re: hi\r\n\r\n.body\r\n\xe9\r\n`,
    );
  });

  it('leaves a message that has both alone', () => {
    const raw = b('Date: Mon, 1 Jan 2029 00:00:00 +0000\r\nMessage-ID: <m@x>\r\nFrom: a@w.test\r\n\r\nhi\r\n');
    const { message, messageId } = prepareSubmission(raw, { domain: 'w.test', now });
    expect(message.equals(raw)).toBe(true);
    expect(messageId).toBe('<m@x>');
  });
});

describe('fromAddresses', () => {
  it('finds every address of every From field, in groups and behind names with commas', () => {
    const { fields } = parseHeader(b('From: "Doe, J" <J@W.test>, k@w.test\r\nFrom: team: l@w.test;\r\nTo: x@y\r\n\r\n'));
    expect(fromAddresses(fields)).toEqual(['j@w.test', 'k@w.test', 'l@w.test']);
  });
});

describe('classify', () => {
  it('splits a partly accepted transaction per recipient', () => {
    const info = { rejectedErrors: [{ recipient: 'a@x', responseCode: 550, response: '550 5.1.1 no' }, { recipient: 'b@x', responseCode: 451, response: '451 later' }] };
    const r = classify(['a@x', 'b@x', 'c@x'], { info: info as never });
    expect(r.delivered).toEqual(['c@x']);
    expect(r.failed).toEqual([
      expect.objectContaining({ recipient: 'a@x', permanent: true }),
      expect.objectContaining({ recipient: 'b@x', permanent: false }),
    ]);
  });

  it('applies a transaction error to everyone left', () => {
    const r = classify(['a@x', 'b@x'], { error: Object.assign(new Error('Message failed'), { responseCode: 554, response: '554 5.7.1 spam' }) });
    expect(r.delivered).toEqual([]);
    expect(r.failed.map((f) => [f.recipient, f.permanent, f.reason])).toEqual([
      ['a@x', true, '554 5.7.1 spam'],
      ['b@x', true, '554 5.7.1 spam'],
    ]);
  });
});

describe('buildBounce', () => {
  it('is a multipart/report with a status per recipient and the original header only', () => {
    const dsn = buildBounce({
      reportingMta: 'relay.test',
      domain: 'w.test',
      to: 'a@w.test',
      original: b('DKIM-Signature: x\r\nFrom: a@w.test\r\nSubject: hello\r\n\r\nsecret body\r\n'),
      arrivalDate: new Date(0),
      now: new Date(1000),
      failures: [{ recipient: 'r@far.test', permanent: true, reason: '550 5.1.1 gone', response: '550 5.1.1 gone', remoteMta: 'mx.far.test' }],
      expired: false,
    }).toString('latin1');
    expect(dsn).toMatch(/^From: Mail Delivery System <mailer-daemon@w\.test>\r\nTo: <a@w\.test>\r\nSubject: Undelivered mail: hello\r\n/);
    expect(dsn).toMatch(/Content-Type: multipart\/report; report-type=delivery-status; boundary="([^"]+)"/);
    expect(dsn).toContain('Final-Recipient: rfc822; r@far.test\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.far.test\r\nDiagnostic-Code: smtp; 550 5.1.1 gone');
    expect(dsn).toContain('Content-Type: text/rfc822-headers\r\n\r\nFrom: a@w.test\r\nSubject: hello\r\n');
    expect(dsn).not.toContain('secret body');
    expect(dsn).not.toContain('DKIM-Signature');
  });
});

describe('groupByDomain', () => {
  it('makes one group per recipient domain', () => {
    expect(groupByDomain(['a@x.test', 'b@Y.test', 'c@X.TEST'])).toEqual([['a@x.test', 'c@X.TEST'], ['b@Y.test']]);
  });
});

/** A next hop that answers from a script, one entry per attempt. */
class ScriptedTransport implements Transport {
  readonly groupsAllDomains = false;
  sent: Envelope[] = [];
  constructor(private script: ((e: Envelope) => AttemptResult)[]) {}
  async send(e: Envelope): Promise<AttemptResult> {
    this.sent.push(e);
    const next = this.script.shift();
    if (!next) throw new Error('no more scripted answers');
    return next(e);
  }
  close(): void {}
}

const log = { info() {}, warn() {}, error() {} };

describe('Outbound', () => {
  const stores: Store[] = [];
  const workers: Outbound[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  async function setup(script: ((e: Envelope) => AttemptResult)[], options: { queueLifetimeMs?: number } = {}) {
    const store = await openSqliteStore(':memory:');
    stores.push(store);
    const user = await store.createUser('alice', new Date());
    const alias = await store.createAlias({ userId: user.id, address: 'a@w.test', site: null, label: null, createdAt: new Date(), expiresAt: null });
    const transport = new ScriptedTransport(script);
    const ingest = new Ingest(inlineWriter(store), new InProcessBus());
    const outbound = new Outbound({ store, ingest, transport, signingKey: { selector: 'wisp', privateKey }, log }, { hostname: 'relay.test', retryBaseMs: 20, queueLifetimeMs: options.queueLifetimeMs ?? 60_000 });
    workers.push(outbound);
    outbound.start();
    const submit = (remote: string[]) =>
      outbound.submit({ userId: user.id, mailFrom: alias.address, signingDomain: 'w.test', local: [], remote, raw: b('From: a@w.test\r\nSubject: s\r\n\r\nhi\r\n') });
    const inbox = async () => (await store.listMessages(user.id, { limit: 50 })).items;
    return { store, transport, submit, inbox };
  }

  const until = async (check: () => Promise<boolean> | boolean, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it('retries what failed for now with only the recipients left, and finishes when all are through', async () => {
    const { store, transport, submit } = await setup([
      (e) => ({ delivered: [e.recipients[0]!], failed: [{ recipient: e.recipients[1]!, permanent: false, reason: '451 later' }] }),
      (e) => ({ delivered: e.recipients, failed: [] }),
    ]);
    await submit(['x@far.test', 'y@far.test']);
    await until(async () => transport.sent.length === 2 && (await store.nextOutboundAttempt()) === null);
    expect(transport.sent.map((e) => e.recipients)).toEqual([['x@far.test', 'y@far.test'], ['y@far.test']]);
    expect(transport.sent[0]!.raw.toString()).toMatch(/^DKIM-Signature: .*d=w\.test/s);
  });

  it('bounces a refused recipient to the sender’s own mailbox at once', async () => {
    const { store, submit, inbox } = await setup([(e) => ({ delivered: [], failed: [{ recipient: e.recipients[0]!, permanent: true, reason: '550 5.1.1 no such user', response: '550 5.1.1 no such user' }] })]);
    await submit(['gone@far.test']);
    await until(async () => (await inbox()).length === 1);
    expect((await inbox())[0]).toMatchObject({ subject: 'Undelivered mail: s', from: 'Mail Delivery System <mailer-daemon@w.test>' });
    expect(await store.nextOutboundAttempt()).toBeNull();
  });

  it('keeps retrying until the queue lifetime ends, then bounces', async () => {
    const later = (e: Envelope): AttemptResult => ({ delivered: [], failed: e.recipients.map((recipient) => ({ recipient, permanent: false, reason: 'connection refused' })) });
    const { transport, submit, inbox } = await setup(Array.from({ length: 50 }, () => later), { queueLifetimeMs: 300 });
    const started = Date.now();
    await submit(['x@down.test']);
    await until(async () => (await inbox()).length === 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(transport.sent.length).toBeGreaterThanOrEqual(3);
    expect((await inbox())[0]?.preview).toMatch(/could not be delivered to: <x@down\.test>: connection refused/);
  });
});
