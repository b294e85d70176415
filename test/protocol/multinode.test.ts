// Three relay processes on one PostgreSQL database behave as one relay: an address made on A takes
// mail through B's SMTP, and the code reaches a WebSocket on C and an IMAP IDLE on A at once; an
// address expires once for all three; a node whose LISTEN connection is killed reconnects and
// still pushes what arrived meanwhile; an upstream mailbox all three are told to pull is pulled by
// one node, and by another when that one dies. A fresh database per run, dropped afterwards.
import { randomBytes } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alias, WsServerFrame } from '../../shared/api.ts';
import { postgresTestUrl } from '../../relay/store/postgres/test-db.ts';
import {
  allMessages,
  createAlias,
  enc,
  eventually,
  isAliasFrame,
  isMessageFrame,
  makeTempDir,
  openWs,
  parseJsonLine,
  sendMail,
  startRelay,
  uniq,
} from '../support/relay.ts';
import type { Relay, WsClient } from '../support/relay.ts';

const database = `wisp_multinode_${randomBytes(5).toString('hex')}`;
const admin = new pg.Client({ connectionString: postgresTestUrl() });
const dbUrl = postgresTestUrl().replace(/\/[^/?]*(\?|$)/, `/${database}$1`);

const ports = { http: '0', smtp: '0', imap: '0', submission: 'off', pop3: 'off' };
let a: Relay;
let b: Relay;
let c: Relay;
/** A separate relay (SQLite, domain up.test) that plays the upstream IMAP server. */
let upstream: Relay;
let catchAll: Alias;
const sockets: WsClient[] = [];
const imapClients: ImapFlow[] = [];

function node(dataDir?: string, env: Record<string, string> = {}): Promise<Relay> {
  const pull = `imap://${enc(catchAll.address)}:${enc(upstream.token)}@127.0.0.1:${upstream.ports.imap}/INBOX?insecure=1`;
  return startRelay({ ports, args: ['--db', dbUrl, '--upstream', pull], env: { WISP_UPSTREAM_RETRY_MS: '300', ...env }, ...(dataDir ? { dataDir } : {}) });
}

/** The backend pid of a node's LISTEN connection, from its latest "event bus listening" line. */
function listenerPid(relay: Relay): number | null {
  let pid: number | null = null;
  for (const line of relay.logs) {
    const entry = parseJsonLine(line);
    if (entry?.msg === 'event bus listening' && typeof entry.backendPid === 'number') pid = entry.backendPid;
  }
  return pid;
}

const count = (relay: Relay, msg: string) => relay.logs.filter((l) => parseJsonLine(l)?.msg === msg).length;

/** An IMAP client on `relay` idling in the address's mailbox; resolves each EXISTS count. */
async function idleOn(relay: Relay, address: string): Promise<{ exists: number[] }> {
  const imap = new ImapFlow({
    host: '127.0.0.1',
    port: relay.ports.imap!,
    secure: false,
    auth: { user: a.user, pass: a.token },
    tls: { rejectUnauthorized: false },
    logger: false,
  });
  imap.on('error', () => {});
  imapClients.push(imap);
  await imap.connect();
  await imap.mailboxOpen(`Aliases/${address}`);
  const seen = { exists: [] as number[] };
  imap.on('exists', (e: { count: number }) => seen.exists.push(e.count));
  void imap.idle();
  await eventually(async () => imap.idling, 5000, 'IDLE');
  return seen;
}

async function ws(relay: Relay): Promise<WsClient> {
  const client = await openWs(relay, a.token);
  sockets.push(client);
  await client.until((f) => f.type === 'hello');
  return client;
}

beforeAll(async () => {
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  upstream = await startRelay({ ports: { imap: '0' }, args: ['--domain', 'up.test'] });
  catchAll = await createAlias(upstream, { site: 'catchall.example', ttl: null });
  // A first: it makes the user `me` and prints the token the others share. Then B and C together.
  a = await node();
  [b, c] = await Promise.all([node(makeTempDir()), node(makeTempDir(), { WISP_BUS_RECONNECT_MS: '1500' })]);
  for (const r of [b, c]) r.token = a.token;
}, 120_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await Promise.all(imapClients.map((client) => client.logout().catch(() => {})));
  await Promise.all([a, b, c, upstream].filter(Boolean).map((r) => r.stop()));
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
});

describe('three relay nodes on one PostgreSQL', () => {
  it('made one first user and listens for events on every node', () => {
    expect(a.printedFirstUser).toBe(true);
    expect(b.printedFirstUser || c.printedFirstUser).toBe(false);
    for (const r of [a, b, c]) expect(listenerPid(r)).not.toBeNull();
  });

  it('an address made on A takes mail through B; the code reaches a WebSocket on C and an IMAP IDLE on A', async () => {
    const alias = await createAlias(a, { site: 'multinode.example' });
    const onC = await ws(c);
    const onA = await idleOn(a, alias.address);

    const subject = uniq('multinode');
    await sendMail(b, { to: alias.address, subject, text: 'Your verification code is 482913. It expires in 10 minutes.' });
    const frame = await onC.until<Extract<WsServerFrame, { type: 'message' }>>((f) => isMessageFrame(f) && f.message.subject === subject);
    expect(frame.message).toMatchObject({ alias: alias.address, code: '482913', site: 'multinode.example' });
    await eventually(async () => onA.exists.includes(1), 5000, 'EXISTS on A');
  });

  it('expires an address once, and all three nodes announce that one expiry', async () => {
    const clients = await Promise.all([a, b, c].map(ws));
    const alias = await createAlias(b, { site: 'short.example', ttl: 1 });
    const expired = (f: WsServerFrame) => isAliasFrame(f) && f.event === 'expired' && f.alias.address === alias.address;
    for (const client of clients) await client.until(expired, 15_000);
    // Long enough for a second sweep anywhere to have shown up.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const client of clients) expect(client.frames.filter(expired)).toHaveLength(1);
    const lines = [a, b, c].map((r) => r.logs.filter((l) => parseJsonLine(l)?.msg === 'address expired' && l.includes(alias.address)).length);
    expect(lines.reduce((x, y) => x + y, 0)).toBe(1);
  });

  it('a node whose LISTEN connection is killed reconnects, and mail that came meanwhile still reaches its WebSocket and IMAP IDLE', async () => {
    const alias = await createAlias(a, { site: 'reconnect.example' });
    const onC = await ws(c);
    const imapOnC = await idleOn(c, alias.address);
    const before = listenerPid(c)!;
    const reconnects = count(c, 'event bus listening');
    await admin.query('SELECT pg_terminate_backend($1)', [before]);
    // C waits at least 750 ms before listening again (WISP_BUS_RECONNECT_MS): this lands in the gap.
    const subject = uniq('gap');
    await sendMail(b, { to: alias.address, subject, text: 'Sign in with code 771205' });
    const storedAt = Date.now();
    const frame = await onC.until<Extract<WsServerFrame, { type: 'message' }>>((f) => isMessageFrame(f) && f.message.subject === subject, 15_000);
    expect(frame.message.code).toBe('771205');
    await eventually(async () => imapOnC.exists.includes(1), 10_000, 'EXISTS on C after the reconnect');
    expect(count(c, 'event bus: lost the LISTEN connection; reconnecting')).toBeGreaterThan(0);
    await eventually(async () => count(c, 'event bus listening') > reconnects, 10_000, 'C listening again');
    expect(listenerPid(c)).not.toBe(before);
    // C was not listening when B announced the message: only the catch-up after reconnecting got it there.
    const relistened = c.logs.map((l) => parseJsonLine(l)).filter((e) => e?.msg === 'event bus listening').at(-1)!;
    expect(Date.parse(String(relistened.time))).toBeGreaterThan(storedAt);

    // And live pushes work again afterwards, exactly once each.
    const after = uniq('after');
    await sendMail(a, { to: alias.address, subject: after, text: 'code 330044' });
    await onC.until((f) => isMessageFrame(f) && f.message.subject === after);
    expect(onC.frames.filter((f) => isMessageFrame(f) && f.message.subject === subject)).toHaveLength(1);
  });

  it('pulls an upstream mailbox on one node only, and on another when that node dies', async () => {
    const pulling = () => [a, b, c].filter((r) => count(r, 'pulling this upstream on this node') > count(r, 'stopped pulling this upstream'));
    await eventually(async () => pulling().length === 1, 10_000, 'one node pulling the upstream');
    const alias = await createAlias(a, { site: 'pulled.example' });
    const deliver = async (subject: string) => {
      const raw = [`From: <no-reply@site.example>`, `To: <${alias.address}>`, `Subject: ${subject}`, `Message-ID: <${uniq()}@site.example>`, '', 'Your code is 919293', ''].join('\r\n');
      await sendMail(upstream, { from: 'bounces@site.example', to: catchAll.address, raw });
    };
    const stored = async (subject: string) => (await allMessages(a)).filter((m) => m.subject === subject).length;
    const first = uniq('pulled');
    await deliver(first);
    await eventually(async () => (await stored(first)) === 1, 10_000, 'the pulled message');

    // The puller goes; a node standing by takes the mailbox over and nothing is taken twice.
    const [holder] = pulling();
    await holder!.kill('SIGKILL');
    const others = [a, b, c].filter((r) => r !== holder);
    await eventually(async () => others.filter((r) => count(r, 'pulling this upstream on this node') > 0).length === 1, 15_000, 'another node pulling');
    const second = uniq('pulled');
    await deliver(second);
    const alive = others[0]!;
    await eventually(async () => (await allMessages(alive)).filter((m) => m.subject === second).length === 1, 15_000, 'the message after the failover');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await allMessages(alive)).filter((m) => m.subject === first || m.subject === second)).toHaveLength(2);
  });
});
