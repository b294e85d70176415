// Upstream pull without a network: URL reading, who a message is for, and the sync's bookkeeping
// (marks, the saved UID, UIDVALIDITY changes, and a crash at every step) against a real SQLite
// store and the real ingest pipeline, with a scripted mailbox standing in for the IMAP server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Aliases } from '../aliases.ts';
import { InProcessBus } from '../events.ts';
import { Ingest, inlineWriter } from '../ingest.ts';
import type { AliasRecord, RelayEvent, Store } from '../ports.ts';
import { openSqliteStore } from '../../store/sqlite/store.ts';
import { backoffMs } from './puller.ts';
import { addressesOf, candidateRecipients, returnPath } from './recipients.ts';
import { parseUpstream } from './source.ts';
import { PULLED, SKIPPED, UpstreamSync } from './sync.ts';
import type { UpstreamMailbox, UpstreamMessage } from './sync.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('parseUpstream', () => {
  it('reads user, password and mailbox URL-decoded, with the default ports and INBOX', () => {
    const s = parseUpstream(new URL('imaps://catch%40example.org:p%40ss%3Aw0rd%2F@Mail.Example.org/Lists%2FTemp'));
    expect(s).toEqual({
      label: 'imaps://catch%40example.org@mail.example.org:993/Lists%2FTemp',
      host: 'mail.example.org',
      port: 993,
      secure: true,
      user: 'catch@example.org',
      password: 'p@ss:w0rd/',
      mailbox: 'Lists/Temp',
      insecureTls: false,
    });
    const plain = parseUpstream(new URL('imap://u:p@[::1]:1143'));
    expect(plain).toMatchObject({ host: '::1', port: 1143, secure: false, mailbox: 'INBOX', label: 'imap://u@[::1]:1143/INBOX' });
  });

  it('accepts unverified certificates only when asked', () => {
    expect(parseUpstream(new URL('imap://u:p@h/INBOX?insecure=1')).insecureTls).toBe(true);
    expect(parseUpstream(new URL('imap://u:p@h/INBOX?insecure=0')).insecureTls).toBe(false);
    expect(parseUpstream(new URL('imap://u:p@h/INBOX'), { insecureTls: true }).insecureTls).toBe(true);
  });

  it('refuses a URL without credentials or with unknown options, never echoing the password', () => {
    expect(() => parseUpstream(new URL('imap://h/INBOX'))).toThrow(/no user name/);
    expect(() => parseUpstream(new URL('imap://u@h/INBOX'))).toThrow(/no password/);
    let message = '';
    try {
      parseUpstream(new URL('imap://u:s3cret@h/INBOX?tls=off'));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/unknown option "tls"/);
    expect(message).not.toContain('s3cret');
  });
});

describe('recipients', () => {
  it('finds addr-specs behind names, comments, quoted and encoded text, and in groups', () => {
    expect(addressesOf('"Doe, J <fake@x.test>" <J.Doe@Wisp.Test>, (c@comment.test) k@w.test, team: l@w.test, m@w.test;')).toEqual([
      'j.doe@wisp.test',
      'k@w.test',
      'l@w.test',
      'm@w.test',
    ]);
    expect(addressesOf('=?utf-8?Q?x@y.test?= <real@w.test>')).toEqual(['real@w.test']);
  });

  it('prefers the envelope headers when they name a served domain', () => {
    const raw = b('Delivered-To: catchall@provider.test\r\nDelivered-To: b.x@wisp.test\r\nTo: a.x@wisp.test, b.x@wisp.test\r\n\r\nTo: c@wisp.test\r\n');
    expect(candidateRecipients(raw, ['wisp.test'])).toEqual(['b.x@wisp.test']);
  });

  it('falls back to To, Cc and Resent-To (folded) when the envelope headers name only other domains', () => {
    const raw = b('X-Original-To: catchall@provider.test\r\nTo: someone@else.test,\r\n\tA.X@WISP.test\r\nCc: c@wisp.test\r\nResent-To: <r@wisp.test>\r\nBcc: hidden@wisp.test\r\n\r\n');
    expect(candidateRecipients(raw, ['wisp.test'])).toEqual(['a.x@wisp.test', 'c@wisp.test', 'r@wisp.test']);
    expect(candidateRecipients(raw, ['other.test'])).toEqual([]);
  });

  it('reads the envelope sender from Return-Path', () => {
    expect(returnPath(b('Return-Path: <Bounce+x@Sender.test>\r\nTo: a@b\r\n\r\n'))).toBe('Bounce+x@Sender.test');
    expect(returnPath(b('Return-Path: <>\r\n\r\n'))).toBe('');
    expect(returnPath(b('To: a@b\r\n\r\n'))).toBe('');
  });
});

describe('backoffMs', () => {
  it('doubles from the base, stays under the cap, and jitters between half and all', () => {
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffMs(3, 1000, 60_000, () => 1)).toBe(4000);
    expect(backoffMs(30, 1000, 60_000, () => 1)).toBe(60_000);
    expect(backoffMs(30, 1000, 60_000, () => 0)).toBe(30_000);
  });
});

/** An IMAP mailbox in memory, with the failures a network brings. */
class FakeMailbox implements UpstreamMailbox {
  messages: { uid: number; flags: Set<string>; raw: Buffer }[] = [];
  nextUid = 1;
  storeRefused = false;
  constructor(
    public uidValidity = 7,
    public keywords = true,
  ) {}

  add(raw: string, flags: string[] = []): number {
    const uid = this.nextUid++;
    this.messages.push({ uid, flags: new Set(flags), raw: b(raw) });
    return uid;
  }

  flagsOf(uid: number): string[] {
    return [...(this.messages.find((m) => m.uid === uid)?.flags ?? [])].sort();
  }

  async list(afterUid: number): Promise<UpstreamMessage[]> {
    const all = this.messages.filter((m) => m.uid > afterUid);
    // like `n:*`, which always matches the newest message
    const last = this.messages.at(-1);
    if (all.length === 0 && last) all.push(last);
    return all.map((m) => ({ uid: m.uid, flags: new Set(m.flags), size: m.raw.length }));
  }

  async source(uid: number): Promise<Buffer | null> {
    return this.messages.find((m) => m.uid === uid)?.raw ?? null;
  }

  async addFlags(uid: number, flags: string[]): Promise<void> {
    if (this.storeRefused) throw new Error('STORE refused');
    const m = this.messages.find((x) => x.uid === uid);
    if (!m) return;
    for (const f of flags) if (this.keywords || f.startsWith('\\')) m.flags.add(f);
  }
}

describe('UpstreamSync', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-upstream-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const stores: Store[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  let n = 0;
  const KEY = 'imap://catch@up.test:143/INBOX';
  const log = pino({ level: 'silent' });

  async function world(options: { maxMessageSize?: number } = {}) {
    const store = await openSqliteStore(join(dir, `s${++n}.db`));
    stores.push(store);
    const bus = new InProcessBus();
    const events: RelayEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const aliases = new Aliases(store, bus, { domains: ['wisp.test'], defaultTtl: null, rateLimit: { count: 1000, windowSeconds: 60 } });
    const user = await store.createUser('alice', new Date());
    const mk = async (local: string): Promise<AliasRecord> =>
      store.createAlias({ userId: user.id, address: `${local}@wisp.test`, site: null, label: null, createdAt: new Date(), expiresAt: null });
    const a = await mk('a.x');
    const c = await mk('c.x');
    let deliveries = 0;
    let crashAfterDeliver = false;
    const ingest = new Ingest(inlineWriter(store), bus);
    const deps = {
      store,
      aliases,
      domains: ['wisp.test'],
      maxMessageSize: options.maxMessageSize ?? 1 << 20,
      hostname: 'relay.test',
      log,
      ingest: {
        deliver: async (d: Parameters<Ingest['deliver']>[0]) => {
          const ids = await ingest.deliver(d);
          deliveries++;
          if (crashAfterDeliver) throw new Error('crash');
          return ids;
        },
      },
    };
    const sync = () => new UpstreamSync(KEY, 'up.test', deps);
    const stored = async (alias: AliasRecord) => (await store.listMessages(user.id, { aliasId: alias.id, limit: 200 })).items;
    return {
      store,
      events,
      user,
      a,
      c,
      sync,
      stored,
      deliveries: () => deliveries,
      crashAfterDeliver: (on: boolean) => (crashAfterDeliver = on),
    };
  }

  const mail = (to: string, subject: string, extra = '') => `Return-Path: <sender@site.test>\r\n${extra}From: Site <sender@site.test>\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nYour code is 482913\r\n`;

  it('ingests mail for its addresses, leaves the rest, marks both, and records the UID', async () => {
    const w = await world();
    const box = new FakeMailbox();
    const one = box.add(mail('a.x@wisp.test', 'one'));
    const stranger = box.add(mail('nobody@wisp.test', 'unknown address'));
    const foreign = box.add(mail('friend@elsewhere.test', 'not ours'));
    const both = box.add(mail('a.x@wisp.test, c.x@wisp.test', 'both'));
    expect(await w.sync().run(box)).toEqual({ pulled: 2, skipped: 2 });

    const [first, ...rest] = (await w.stored(w.a)).reverse();
    expect(first?.subject).toBe('one');
    expect(first?.code).toBe('482913');
    expect(rest.map((m) => m.subject)).toEqual(['both']);
    expect((await w.stored(w.c)).map((m) => m.subject)).toEqual(['both']);
    expect(w.events.filter((e) => e.type === 'message')).toHaveLength(3);
    const raw = (await w.store.getRaw(w.user.id, first!.id))!.toString('latin1');
    expect(raw).toMatch(/^Received: from up\.test\r\n\tby relay\.test \(Wisp\) with IMAP id [0-9a-f]{8}\.7\.1;\r\n\t.+\r\nReturn-Path: <sender@site\.test>\r\n/);

    expect(box.flagsOf(one)).toEqual([PULLED, '\\Seen']);
    expect(box.flagsOf(both)).toEqual([PULLED, '\\Seen']);
    expect(box.flagsOf(stranger)).toEqual([SKIPPED]);
    expect(box.flagsOf(foreign)).toEqual([SKIPPED]);
    expect(await w.store.getUpstreamState(KEY)).toEqual({ uidValidity: 7, lastUid: both, pending: null });

    // Nothing new: nothing happens, even though `n:*` hands back the newest message.
    expect(await w.sync().run(box)).toEqual({ pulled: 0, skipped: 0 });
    expect(w.deliveries()).toBe(2);
  });

  it('never ingests twice: by the saved UID when the marks are gone, by the marks when the UIDs are new', async () => {
    const w = await world();
    const box = new FakeMailbox();
    box.add(mail('a.x@wisp.test', 'one'));
    await w.sync().run(box);
    // someone cleared the marks upstream: the saved UID still holds
    for (const m of box.messages) m.flags.clear();
    await w.sync().run(box);
    expect(w.deliveries()).toBe(1);

    // the server rebuilt its index (new UIDVALIDITY, new UIDs): the marks hold
    box.messages[0]!.flags.add(PULLED);
    box.uidValidity = 8;
    const later = box.add(mail('c.x@wisp.test', 'two'));
    expect(await w.sync().run(box)).toEqual({ pulled: 1, skipped: 0 });
    expect(w.deliveries()).toBe(2);
    expect(await w.store.getUpstreamState(KEY)).toEqual({ uidValidity: 8, lastUid: later, pending: null });
  });

  it('after a crash between the commit and the record, finds the stored copy instead of ingesting again', async () => {
    const w = await world();
    const box = new FakeMailbox();
    const uid = box.add(mail('a.x@wisp.test', 'one'));
    w.crashAfterDeliver(true);
    await expect(w.sync().run(box)).rejects.toThrow('crash');
    expect(await w.store.getUpstreamState(KEY)).toMatchObject({ lastUid: 0, pending: { uid } });
    expect(box.flagsOf(uid)).toEqual([]);

    w.crashAfterDeliver(false);
    expect(await w.sync().run(box)).toEqual({ pulled: 1, skipped: 0 });
    expect(w.deliveries()).toBe(1);
    expect(await w.stored(w.a)).toHaveLength(1);
    expect(box.flagsOf(uid)).toEqual([PULLED, '\\Seen']);
    expect(await w.store.getUpstreamState(KEY)).toEqual({ uidValidity: 7, lastUid: uid, pending: null });
  });

  it('after a crash before the commit, ingests the message then', async () => {
    const w = await world();
    const box = new FakeMailbox();
    const uid = box.add(mail('a.x@wisp.test', 'one'));
    // what a crash between saving `pending` and the commit leaves: the pending UID, nothing stored
    await w.store.setUpstreamState(KEY, { uidValidity: 7, lastUid: 0, pending: { uid, at: new Date() } });
    expect(await w.sync().run(box)).toEqual({ pulled: 1, skipped: 0 });
    expect(await w.stored(w.a)).toHaveLength(1);
  });

  it('keeps the UID when the server refuses the mark, and falls back to \\Seen without keywords', async () => {
    const w = await world();
    const box = new FakeMailbox(7, false);
    box.add(mail('nobody@wisp.test', 'unknown'));
    const uid = box.add(mail('a.x@wisp.test', 'one'));
    expect(await w.sync().run(box)).toEqual({ pulled: 1, skipped: 1 });
    expect(box.flagsOf(1)).toEqual([]);
    expect(box.flagsOf(uid)).toEqual(['\\Seen']);

    box.storeRefused = true;
    box.add(mail('c.x@wisp.test', 'two'));
    expect(await w.sync().run(box)).toEqual({ pulled: 1, skipped: 0 });
    expect(await w.sync().run(box)).toEqual({ pulled: 0, skipped: 0 });

    // a new UIDVALIDITY without keywords: \Seen messages count as done
    box.uidValidity = 9;
    box.messages[2]!.flags.add('\\Seen');
    expect(await w.sync().run(box)).toEqual({ pulled: 0, skipped: 1 });
    expect(w.deliveries()).toBe(2);
  });

  it('leaves a message over the size limit upstream', async () => {
    const w = await world({ maxMessageSize: 100 });
    const box = new FakeMailbox();
    const uid = box.add(mail('a.x@wisp.test', 'big', `X-Filler: ${'x'.repeat(200)}\r\n`));
    expect(await w.sync().run(box)).toEqual({ pulled: 0, skipped: 1 });
    expect(box.flagsOf(uid)).toEqual([SKIPPED]);
  });

  it('stops between messages when asked', async () => {
    const w = await world();
    const box = new FakeMailbox();
    box.add(mail('a.x@wisp.test', 'one'));
    box.add(mail('a.x@wisp.test', 'two'));
    let calls = 0;
    expect(await w.sync().run(box, () => calls++ > 0)).toEqual({ pulled: 1, skipped: 0 });
    expect(await w.store.getUpstreamState(KEY)).toMatchObject({ lastUid: 1 });
  });
});
