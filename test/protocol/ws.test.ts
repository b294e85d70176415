// The push channel (INTERFACE.md §3) with the `ws` client: authentication by first frame,
// close codes, hello, live message and alias events, resuming with `since`, expiry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Alias, Summary, WsServerFrame } from '../../shared/api.ts';
import { WS_CLOSE_AUTH_TIMEOUT, WS_CLOSE_BAD_TOKEN } from '../../shared/api.ts';
import {
  addUser,
  allMessages,
  api,
  apiOk,
  createAlias,
  enc,
  isAliasFrame,
  isMessageFrame,
  openWs,
  sendMail,
  sleep,
  startRelay,
  uniq,
} from '../support/relay.ts';
import type { Relay, WsClient } from '../support/relay.ts';
import { SmtpSession } from '../support/smtp.ts';

const AUTH_TIMEOUT_MS = 1500;

let relay: Relay;
const sockets: WsClient[] = [];

async function ws(token: string | null, since?: string): Promise<WsClient> {
  const c = await openWs(relay, token, since);
  sockets.push(c);
  return c;
}

async function authed(): Promise<WsClient> {
  const c = await ws(relay.token);
  expect(await c.next()).toEqual({ type: 'hello', user: relay.user });
  return c;
}

const messageFor = (address: string) => (f: WsServerFrame) => isMessageFrame(f) && f.message.alias === address;
const aliasEvent = (event: string, address: string) => (f: WsServerFrame) => isAliasFrame(f) && f.event === event && f.alias.address === address;

beforeAll(async () => {
  relay = await startRelay({
    env: { WISP_WS_AUTH_TIMEOUT_MS: String(AUTH_TIMEOUT_MS) },
    args: ['--alias-rate-limit', '100000/1m'],
  });
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await relay?.stop();
});

describe('authentication', () => {
  it('the server sends nothing before a good auth frame, then hello', async () => {
    const c = await ws(null);
    await sleep(600); // a negative check: nothing may arrive in this window (shorter than the auth timeout)
    expect(c.frames).toEqual([]);
    c.send({ type: 'auth', token: relay.token });
    expect(await c.next()).toEqual({ type: 'hello', user: relay.user });
    expect(c.raw.every((r) => !r.binary)).toBe(true);
  });

  it('a bad token closes the socket with 4401 and nothing is sent', async () => {
    for (const token of ['wrong', '', relay.token + 'x']) {
      const c = await ws(token);
      const closed = await Promise.race([c.closed, sleep(5000).then(() => null)]);
      expect(closed, `token ${JSON.stringify(token)}: socket not closed`).not.toBeNull();
      expect(closed!.code).toBe(WS_CLOSE_BAD_TOKEN);
      expect(c.frames).toEqual([]);
    }
  });

  it('a first frame that is not an auth frame closes the socket, and nothing is sent', async () => {
    for (const first of ['hello', JSON.stringify({ type: 'subscribe', token: relay.token }), JSON.stringify({ type: 'auth' })]) {
      const c = await ws(null);
      c.send(first);
      const closed = await Promise.race([c.closed, sleep(5000).then(() => null)]);
      expect(closed, `first frame ${first}: socket still open after 5 s`).not.toBeNull();
      expect(closed!.code, `first frame ${first}`).toBeGreaterThanOrEqual(4000);
      expect(c.frames).toEqual([]);
    }
  });

  it('a token in the URL does not authenticate', async () => {
    const raw = new WebSocket(`${relay.http.replace(/^http/, 'ws')}/api/ws?token=${enc(relay.token)}`);
    const got: string[] = [];
    raw.on('message', (d) => got.push(String(d)));
    raw.on('error', () => {});
    await new Promise<void>((resolve) => {
      raw.once('open', () => resolve());
      raw.once('close', () => resolve());
      raw.once('unexpected-response', () => resolve());
    });
    await sleep(500); // a negative check
    expect(got).toEqual([]);
    raw.terminate();
  });

  it('no auth frame closes the socket with 4408 after the auth timeout (10 s, or WISP_WS_AUTH_TIMEOUT_MS)', async () => {
    const c = await ws(null);
    const closed = await Promise.race([c.closed, sleep(13_000).then(() => null)]);
    expect(closed, 'socket without auth still open after 13 s').not.toBeNull();
    expect(closed!.code).toBe(WS_CLOSE_AUTH_TIMEOUT);
    const elapsed = closed!.at - c.openedAt;
    if (elapsed < 5000) {
      // the relay honoured WISP_WS_AUTH_TIMEOUT_MS
      expect(elapsed).toBeGreaterThanOrEqual(AUTH_TIMEOUT_MS - 300);
    } else {
      expect(elapsed).toBeGreaterThanOrEqual(9_500);
      expect(elapsed).toBeLessThanOrEqual(12_500);
    }
    expect(c.frames).toEqual([]);
  }, 20_000);
});

describe('live events', () => {
  it('alias created / updated / deleted and message frames carry what the API returns, to every socket of the user', async () => {
    const c1 = await authed();
    const c2 = await authed();

    const a = await createAlias(relay, { site: 'https://app.example.com/signup', label: 'ws' });
    for (const c of [c1, c2]) {
      const f = await c.until(aliasEvent('created', a.address));
      expect(f).toEqual({ type: 'alias', event: 'created', alias: a });
    }

    const patched = await apiOk<Alias>(relay, 'PATCH', `/api/aliases/${enc(a.address)}`, { label: 'renamed' });
    for (const c of [c1, c2]) {
      const f = await c.until(aliasEvent('updated', a.address));
      expect(f).toEqual({ type: 'alias', event: 'updated', alias: patched });
    }

    const subject = `ws live ${uniq()}`;
    await sendMail(relay, { to: a.address, subject, text: 'Your login code: 60 91 27' });
    const listed = (await allMessages(relay, { alias: a.address }))[0];
    for (const c of [c1, c2]) {
      const f = await c.until(messageFor(a.address));
      if (!isMessageFrame(f)) throw new Error('unreachable');
      expect(f.message.subject).toBe(subject);
      expect(f.message.code).toBe('609127');
      expect(f.message).toEqual(listed);
    }

    expect((await api(relay, 'DELETE', `/api/aliases/${enc(a.address)}`)).status).toBe(204);
    for (const c of [c1, c2]) {
      const f = await c.until(aliasEvent('deleted', a.address));
      if (!isAliasFrame(f)) throw new Error('unreachable');
      expect(f.alias.address).toBe(a.address);
    }
    for (const c of [c1, c2]) expect(c.raw.every((r) => !r.binary)).toBe(true);
  });

  it('a message is pushed as soon as it is stored: before the sender even sees QUIT', async () => {
    const c = await authed();
    const a = await createAlias(relay, { site: 'fast.test' });
    const s = await SmtpSession.connect(relay.smtpPort);
    try {
      await s.command('EHLO client.test');
      const subject = `fast ${uniq()}`;
      const r = await s.deliver('x@example.com', [a.address], `Subject: ${subject}\r\n\r\ncode 4711\r\n`);
      expect(r.final?.code).toBe(250);
      // the SMTP session is still open; the push must not wait for it to end
      const f = await c.until(messageFor(a.address), 5000);
      if (!isMessageFrame(f)) throw new Error('unreachable');
      expect(f.message.subject).toBe(subject);
    } finally {
      await s.quit();
    }
  });

  it('ten clients delivering at the same moment: every message is pushed exactly once', async () => {
    const c = await authed();
    const a = await createAlias(relay, { site: 'burst.test', ttl: null });
    const subjects = Array.from({ length: 10 }, (_, i) => `burst ${i} ${uniq()}`);
    await Promise.all(subjects.map((subject) => sendMail(relay, { to: a.address, subject, text: 'burst' })));
    const got: string[] = [];
    for (let i = 0; i < subjects.length; i++) {
      const f = await c.until(messageFor(a.address));
      if (!isMessageFrame(f)) throw new Error('unreachable');
      got.push(f.message.subject);
    }
    expect([...got].sort()).toEqual([...subjects].sort());
    const listed = await allMessages(relay, { alias: a.address });
    expect(listed).toHaveLength(10);
    await sleep(300); // a negative check: no duplicate follows
    expect(c.pending().filter(messageFor(a.address))).toEqual([]);
  });

  it('users are isolated on the WebSocket: B never receives A’s events', async () => {
    const nameB = `wsbob${Date.now()}`;
    const tokenB = await addUser(relay, nameB);
    const b = await ws(tokenB);
    expect(await b.next()).toEqual({ type: 'hello', user: nameB });
    const a = await authed();

    const aliasA = await createAlias(relay, { site: 'a-only.test' });
    await sendMail(relay, { to: aliasA.address, subject: `for A ${uniq()}`, text: 'secret 111222' });
    await a.until(messageFor(aliasA.address));

    const aliasB = await createAlias(relay, { site: 'b-only.test' }, tokenB);
    await sendMail(relay, { to: aliasB.address, subject: `for B ${uniq()}`, text: 'hello B' });
    await b.until(messageFor(aliasB.address));
    // everything A caused was published before B's message; none of it reached B
    const leaked = b.frames.filter((f) => JSON.stringify(f).includes(aliasA.address));
    expect(leaked).toEqual([]);
    expect(b.frames.filter((f) => f.type === 'alias').map((f) => (f as { alias: Alias }).alias.address)).toEqual([aliasB.address]);
  });
});

describe('resuming with since', () => {
  it('sends every message after ID, oldest first, then live ones; nothing twice', async () => {
    const a = await createAlias(relay, { site: 'resume.test', ttl: null });
    const first = await authed();
    const ids: string[] = [];
    const subjects: string[] = [];
    const send = async (i: number) => {
      const subject = `resume ${i} ${uniq()}`;
      subjects.push(subject);
      await sendMail(relay, { to: a.address, subject, text: `n ${i}` });
    };
    for (let i = 0; i < 3; i++) {
      await send(i);
      const f = await first.until(messageFor(a.address));
      if (!isMessageFrame(f)) throw new Error('unreachable');
      expect(f.message.subject).toBe(subjects[i]);
      ids.push(f.message.id);
    }
    first.close();
    await first.closed;

    // two arrive while nobody is connected
    await send(3);
    await send(4);

    const resumed = await ws(relay.token, ids[2]);
    expect(await resumed.next()).toEqual({ type: 'hello', user: relay.user });
    const replay: Summary[] = [];
    for (let i = 0; i < 2; i++) {
      const f = await resumed.until(isMessageFrame);
      if (!isMessageFrame(f)) throw new Error('unreachable');
      replay.push(f.message);
    }
    expect(replay.map((m) => m.subject)).toEqual([subjects[3], subjects[4]]);
    const listed = await allMessages(relay, { alias: a.address });
    expect(replay).toEqual([listed[1], listed[0]]);

    await send(5);
    const live = await resumed.until(isMessageFrame);
    if (!isMessageFrame(live)) throw new Error('unreachable');
    expect(live.message.subject).toBe(subjects[5]);
    expect(resumed.pending().filter(isMessageFrame)).toEqual([]);

    // from the first one: everything after it, oldest first, each once
    const fromStart = await ws(relay.token, ids[0]);
    expect(await fromStart.next()).toEqual({ type: 'hello', user: relay.user });
    const all: string[] = [];
    for (let i = 0; i < 5; i++) {
      const f = await fromStart.until(isMessageFrame);
      if (!isMessageFrame(f)) throw new Error('unreachable');
      all.push(f.message.subject);
    }
    expect(all).toEqual(subjects.slice(1));
    // and nothing more is queued (a duplicate would already be here: replay precedes live)
    await sleep(300);
    expect(fromStart.pending().filter(isMessageFrame)).toEqual([]);

    // since a message that has since been deleted: still everything after it
    expect((await api(relay, 'DELETE', `/api/messages/${enc(ids[1]!)}`)).status).toBe(204);
    const afterDeleted = await ws(relay.token, ids[1]);
    expect(await afterDeleted.next()).toEqual({ type: 'hello', user: relay.user });
    const fromDeleted: string[] = [];
    for (let i = 0; i < 4; i++) {
      const f = await afterDeleted.until(isMessageFrame);
      if (!isMessageFrame(f)) throw new Error('unreachable');
      fromDeleted.push(f.message.subject);
    }
    expect(fromDeleted).toEqual(subjects.slice(2));

    // since the newest: no replay at all
    const upToDate = await ws(relay.token, live.message.id);
    expect(await upToDate.next()).toEqual({ type: 'hello', user: relay.user });
    await sleep(300);
    expect(upToDate.pending().filter(isMessageFrame)).toEqual([]);
  });
});

describe('expiry', () => {
  it('an alias made with ttl 1 is announced "expired"; an expired alias loses its mail and refuses more', async () => {
    const c = await authed();
    const short = await createAlias(relay, { site: 'ttl-one.test', ttl: 1 });
    expect(short.expiresAt).not.toBeNull();

    const withMail = await createAlias(relay, { site: 'ttl-mail.test', ttl: null });
    const subject = `doomed ${uniq()}`;
    await sendMail(relay, { to: withMail.address, subject, text: 'gone soon' });
    const mf = await c.until(messageFor(withMail.address));
    if (!isMessageFrame(mf)) throw new Error('unreachable');
    await apiOk<Alias>(relay, 'PATCH', `/api/aliases/${enc(withMail.address)}`, { ttl: 1 });

    const e1 = await c.until(aliasEvent('expired', short.address), 15_000);
    if (!isAliasFrame(e1)) throw new Error('unreachable');
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(short.expiresAt!));
    const e2 = await c.until(aliasEvent('expired', withMail.address), 15_000);
    if (!isAliasFrame(e2)) throw new Error('unreachable');

    // its mail is gone
    expect((await api(relay, 'GET', `/api/messages/${enc(mf.message.id)}`)).status).toBe(404);
    expect((await allMessages(relay)).map((m) => m.id)).not.toContain(mf.message.id);
    const byAlias = await api<{ messages: Summary[] }>(relay, 'GET', `/api/messages?alias=${enc(withMail.address)}`);
    if (byAlias.status === 200) expect(byAlias.body.messages).toEqual([]);
    else expect(byAlias.status).toBe(404);

    // and it refuses mail
    const s = await SmtpSession.connect(relay.smtpPort);
    try {
      await s.command('EHLO client.test');
      await s.command('MAIL FROM:<x@example.com>');
      for (const addr of [short.address, withMail.address]) {
        const r = await s.command(`RCPT TO:<${addr}>`);
        expect(r.code).toBe(550);
        expect(r.enhanced).toBe('5.1.1');
      }
    } finally {
      await s.quit();
    }
  }, 40_000);
});
