// IMAP (INTERFACE.md §4) with imapflow, a real client, for every command family: login by name
// and by address, LIST/STATUS/SELECT/EXAMINE, FETCH of every item, SEARCH, STORE, COPY, MOVE,
// EXPUNGE with UIDPLUS, APPEND, IDLE, and sessions (and the API) seeing each other's changes.
import { ImapFlow } from 'imapflow';
import type { ImapFlowOptions } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alias } from '../../shared/api.ts';
import { addUser, allMessages, api, apiOk, createAlias, enc, eventually, sendMail, startRelay, uniq } from '../support/relay.ts';
import type { Relay } from '../support/relay.ts';

let relay: Relay;
let github: Alias;
let shop: Alias;
const clients: ImapFlow[] = [];

async function connect(opts: Partial<ImapFlowOptions> & { user?: string; pass?: string; loginMethod?: string } = {}): Promise<ImapFlow> {
  const { user = relay.user, pass = relay.token, loginMethod, ...rest } = opts;
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: relay.ports.imap!,
    secure: false,
    auth: { user, pass, ...(loginMethod ? { loginMethod } : {}) },
    tls: { rejectUnauthorized: false },
    logger: false,
    disableAutoIdle: true,
    ...rest,
  });
  client.on('error', () => {});
  clients.push(client);
  await client.connect();
  return client;
}

const mailbox = (a: Alias) => `Aliases/${a.address}`;

/** STATUS, failing the test when imapflow reports false. */
async function statusOf(client: ImapFlow, path: string, query: Parameters<ImapFlow['status']>[1]) {
  const status = await client.status(path, query);
  if (!status) throw new Error(`STATUS ${path} failed`);
  return status;
}

/** fetchOne, failing the test when imapflow reports false. */
async function one(client: ImapFlow, range: string, query: Parameters<ImapFlow['fetchOne']>[1], options?: Parameters<ImapFlow['fetchOne']>[2]) {
  const message = await client.fetchOne(range, query, options);
  if (!message) throw new Error(`FETCH ${range} returned nothing`);
  return message;
}

function multipart(to: string, tag: string): string {
  return [
    'From: "Sender Name" <sender@example.com>',
    `To: ${to}`,
    'Cc: Someone <cc@example.org>, other@example.org',
    `Subject: Multipart =?UTF-8?B?w5xiZXI=?= ${tag}`,
    'Date: Tue, 1 Oct 2024 10:00:00 +0000',
    `Message-ID: <${tag}@example.com>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: multipart/alternative; boundary="b2"',
    '',
    '--b2',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Hello caf=C3=A9 world, your code is 771204.',
    '--b2',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>Hello <b>caf\u00e9</b> world</p>',
    '--b2--',
    '--b1',
    'Content-Type: application/octet-stream; name="data.bin"',
    'Content-Disposition: attachment; filename="data.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    'AAECAwQFBgcICQ==',
    '--b1--',
    '',
  ].join('\r\n');
}

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks).toString('utf8');
}

beforeAll(async () => {
  relay = await startRelay({ ports: { imap: '0', imaps: '0' }, args: ['--alias-rate-limit', '1000/1m'] });
  github = await createAlias(relay, { site: 'github.com' });
  shop = await createAlias(relay, { site: 'shop.example' });
  await sendMail(relay, { from: 'GitHub <noreply@github.com>', to: github.address, subject: 'Your GitHub code', text: 'Your code is 482913\n' });
  await sendMail(relay, { from: 'Shop <news@shop.example>', to: shop.address, subject: 'Weekly deals', text: 'Cheap socks this week\n' });
  await sendMail(relay, { to: github.address, raw: multipart(github.address, 'multi-1') });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.logout().catch(() => c.close())));
  await relay?.stop();
});

describe('IMAP with imapflow', () => {
  it('logs in with the user name and a token, with capabilities', async () => {
    const client = await connect();
    for (const cap of ['IDLE', 'UIDPLUS', 'MOVE', 'NAMESPACE', 'ID', 'ENABLE', 'LITERAL+']) expect(client.capabilities.has(cap)).toBe(true);
    const list = await client.list();
    expect(list.map((m) => m.path).sort()).toEqual(['Aliases', mailbox(github), mailbox(shop), 'INBOX'].sort());
    const aliasesBox = list.find((m) => m.path === 'Aliases')!;
    expect(aliasesBox.flags.has('\\Noselect')).toBe(true);
    expect(list.find((m) => m.path === 'INBOX')?.specialUse).toBe('\\Inbox');
  });

  it('logs in with AUTHENTICATE PLAIN, over STARTTLS and over implicit TLS', async () => {
    const plain = await connect({ loginMethod: 'AUTH=PLAIN', doSTARTTLS: true });
    expect(plain.secureConnection || plain.usable).toBeTruthy();
    expect((await statusOf(plain, 'INBOX', { messages: true })).messages).toBe(3);
    const tls = await connect({ port: relay.ports.imaps!, secure: true });
    expect((await statusOf(tls, 'INBOX', { messages: true })).messages).toBe(3);
  });

  it('refuses a wrong token', async () => {
    await expect(connect({ pass: 'wisp_wrong_token_wrong_token_wrong' })).rejects.toThrow();
    await expect(connect({ user: 'nobody' })).rejects.toThrow();
  });

  it('logs in as an address: INBOX is that address alone', async () => {
    const client = await connect({ user: github.address });
    const list = await client.list();
    expect(list.map((m) => m.path)).toEqual(['INBOX']);
    const box = await client.mailboxOpen('INBOX');
    expect(box.exists).toBe(2);
    const subjects: string[] = [];
    for await (const m of client.fetch('1:*', { envelope: true })) subjects.push(m.envelope!.subject!);
    expect(subjects[0]).toBe('Your GitHub code');
    expect(subjects[1]).toMatch(/^Multipart Über multi-1$/);
    await expect(client.mailboxOpen(mailbox(shop))).rejects.toThrow();
  });

  it('keeps each user to its own mail', async () => {
    const name = `other${Date.now() % 100000}`;
    const otherToken = await addUser(relay, name);
    const theirs = await createAlias(relay, { site: 'theirs.example' }, otherToken);
    await sendMail(relay, { to: theirs.address, subject: 'for the other user', text: 'x' });
    // Another user's token opens neither this user's name nor its addresses.
    await expect(connect({ user: github.address, pass: otherToken })).rejects.toThrow();
    await expect(connect({ user: relay.user, pass: otherToken })).rejects.toThrow();
    const other = await connect({ user: name, pass: otherToken });
    expect((await other.list()).map((m) => m.path).sort()).toEqual(['Aliases', mailbox(theirs), 'INBOX'].sort());
    expect((await statusOf(other, 'INBOX', { messages: true })).messages).toBe(1);
    await expect(other.mailboxOpen(mailbox(github))).rejects.toThrow();
    await expect(statusOf(other, mailbox(github), { messages: true })).rejects.toThrow();
    const mine = await connect();
    await expect(mine.mailboxOpen(mailbox(theirs))).rejects.toThrow();
  });

  it('shows STATUS, and SELECT/EXAMINE with stable UIDVALIDITY', async () => {
    const client = await connect();
    const inbox = await statusOf(client, 'INBOX', { messages: true, unseen: true, uidNext: true, uidValidity: true, recent: true });
    expect(inbox).toMatchObject({ messages: 3, unseen: 3, recent: 0 });
    const gh = await statusOf(client, mailbox(github), { messages: true, uidNext: true, uidValidity: true });
    expect(gh.messages).toBe(2);
    expect(Number(gh.uidValidity)).toBeGreaterThan(0);
    const ro = await client.mailboxOpen(mailbox(shop), { readOnly: true });
    expect(ro.readOnly).toBe(true);
    expect(ro.exists).toBe(1);
    const rw = await client.mailboxOpen('INBOX');
    expect(rw.readOnly).toBe(false);
    expect(rw.exists).toBe(3);
    expect(rw.uidValidity).toBe(inbox.uidValidity);
    expect(rw.permanentFlags?.has('\\*')).toBe(true);
    expect(Number(rw.uidNext)).toBe(inbox.uidNext);
  });

  it('fetches every item of a multipart message', async () => {
    const client = await connect();
    await client.mailboxOpen(mailbox(github));
    const msg = await one(client, '2', { uid: true, flags: true, envelope: true, bodyStructure: true, internalDate: true, size: true, source: true, headers: ['subject', 'cc'] });
    expect(msg).toBeTruthy();
    if (!msg) return;
    const raw = await api(relay, 'GET', `/api/messages/${msg.uid}/raw`);
    expect(msg.source!.toString('latin1')).toBe(Buffer.from(raw.text, 'utf8').toString('latin1'));
    expect(msg.size).toBe(msg.source!.length);
    expect(msg.flags?.size).toBe(0);
    expect(new Date(msg.internalDate!).getTime()).toBeGreaterThan(Date.now() - 600_000);
    expect(msg.envelope).toMatchObject({
      subject: 'Multipart Über multi-1',
      messageId: '<multi-1@example.com>',
      from: [{ name: 'Sender Name', address: 'sender@example.com' }],
      sender: [{ name: 'Sender Name', address: 'sender@example.com' }],
      to: [{ address: github.address }],
      cc: [{ name: 'Someone', address: 'cc@example.org' }, { address: 'other@example.org' }],
    });
    expect(msg.headers!.toString()).toMatch(/^Cc: Someone <cc@example.org>, other@example.org\r\nSubject: Multipart/);
    const bs = msg.bodyStructure!;
    expect(bs.type).toBe('multipart/mixed');
    expect(bs.childNodes!.map((c) => c.type)).toEqual(['multipart/alternative', 'application/octet-stream']);
    expect(bs.childNodes![0]!.childNodes!.map((c) => [c.part, c.type, c.encoding])).toEqual([
      ['1.1', 'text/plain', 'quoted-printable'],
      ['1.2', 'text/html', '7bit'],
    ]);
    expect(bs.childNodes![1]).toMatchObject({ part: '2', disposition: 'attachment', dispositionParameters: { filename: 'data.bin' }, encoding: 'base64', size: 16 });

    const parts = await one(client, '2', { bodyParts: ['1.1', '1.2.mime', '2', 'text'] });
    expect(parts && parts.bodyParts?.get('1.1')?.toString()).toBe('Hello caf=C3=A9 world, your code is 771204.');
    expect(parts && parts.bodyParts?.get('1.2.mime')?.toString()).toBe('Content-Type: text/html; charset=utf-8\r\n\r\n');
    expect(parts && parts.bodyParts?.get('2')?.toString()).toBe('AAECAwQFBgcICQ==');
    expect(parts && parts.bodyParts?.get('text')?.toString()).toMatch(/^--b1\r\n/);
    const partial = await one(client, '2', { bodyParts: [{ key: '1.1', start: 6, maxLength: 7 }] });
    expect(partial && [...partial.bodyParts!.values()][0]?.toString()).toBe('caf=C3=');
    const source = await one(client, '2', { source: { start: 0, maxLength: 12 } });
    expect(source && source.source?.toString()).toBe('Return-Path:');

    const { content } = await client.download('2', '1.1');
    expect(await streamText(content!)).toBe('Hello café world, your code is 771204.');
    const attachment = await client.download('2', '2');
    const bytes: Buffer[] = [];
    for await (const c of attachment.content!) bytes.push(c as Buffer);
    expect([...Buffer.concat(bytes)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    // imapflow peeks: nothing it fetched set \Seen.
    const after = await one(client, '2', { flags: true });
    expect(after && [...after.flags!]).toEqual([]);
    expect((await one(client, '2', { bodyStructure: true }))).toBeTruthy();
    const full = await one(client, '1', { full: true });
    expect(full && full.bodyStructure?.type).toBe('text/plain');
  });

  it('searches with every kind of key', async () => {
    const client = await connect();
    await client.mailboxOpen('INBOX');
    const uids = async (q: Parameters<ImapFlow['search']>[0]) => (await client.search(q, { uid: true })) || [];
    const all = await uids({ all: true });
    expect(all).toHaveLength(3);
    const [first, second, third] = all as [number, number, number];
    expect(await uids({ subject: 'github' })).toEqual([first]);
    expect(await uids({ subject: 'über' })).toEqual([third]);
    expect(await uids({ from: 'shop' })).toEqual([second]);
    expect(await uids({ to: github.address })).toEqual([first, third]);
    expect(await uids({ cc: 'someone' })).toEqual([third]);
    expect(await uids({ body: 'CAFÉ WORLD' })).toEqual([third]);
    expect(await uids({ text: 'socks' })).toEqual([second]);
    expect(await uids({ text: 'multi-1@example' })).toEqual([third]);
    expect(await uids({ header: { 'message-id': 'multi-1' } })).toEqual([third]);
    expect(await uids({ larger: 600 })).toEqual([third]);
    expect(await uids({ smaller: 600 })).toEqual([first, second]);
    expect(await uids({ uid: `${second}:*` })).toEqual([second, third]);
    expect(await uids({ seq: '2' })).toEqual([second]);
    expect(await uids({ sentBefore: new Date('2024-10-02') })).toEqual([third]);
    expect(await uids({ sentOn: new Date('2024-10-01') })).toEqual([third]);
    expect(await uids({ since: new Date(Date.now() - 86_400_000) })).toEqual(all);
    expect(await uids({ before: new Date('2000-01-01') })).toEqual([]);
    expect(await uids({ or: [{ subject: 'weekly' }, { subject: 'github' }] })).toEqual([first, second]);
    expect(await uids({ not: { subject: 'github' } })).toEqual([second, third]);
    expect(await uids({ seen: false })).toHaveLength(3 - (await uids({ seen: true })).length);
    await client.messageFlagsAdd(String(second), ['$Work', '\\Flagged'], { uid: true });
    expect(await uids({ keyword: '$work' })).toEqual([second]);
    expect(await uids({ flagged: true })).toEqual([second]);
    expect(await uids({ unKeyword: '$Work' })).toEqual([first, third]);
    expect(await uids({ answered: true })).toEqual([]);
    expect(await uids({ new: true })).toEqual([]);
    expect(await uids({ old: true })).toEqual(all);
    await client.messageFlagsRemove(String(second), ['$Work', '\\Flagged'], { uid: true });
  });

  it('stores flags that persist and show in the API as seen', async () => {
    const client = await connect();
    await client.mailboxOpen(mailbox(shop));
    const uid = (await client.search({ all: true }, { uid: true }) as number[])[0]!;
    expect(await client.messageFlagsSet(String(uid), ['\\Seen', '\\Answered', 'Later'], { uid: true })).toBe(true);
    expect((await apiOk(relay, 'GET', `/api/messages/${uid}`)).seen).toBe(true);
    const again = await connect();
    await again.mailboxOpen(mailbox(shop));
    expect([...(await one(again, String(uid), { flags: true }, { uid: true }))!.flags!].sort()).toEqual(['Later', '\\Answered', '\\Seen']);
    await apiOk(relay, 'PATCH', `/api/messages/${uid}`, { seen: false });
    expect([...(await one(again, String(uid), { flags: true }, { uid: true }))!.flags!].sort()).toEqual(['Later', '\\Answered']);
    await client.messageFlagsSet(String(uid), [], { uid: true });
  });

  it('appends to an address mailbox with APPENDUID, and refuses INBOX of a user login', async () => {
    const client = await connect();
    const tag = uniq('append');
    const res = await client.append(mailbox(shop), `From: me@example.com\r\nSubject: ${tag}\r\n\r\nYour code is 246810\r\n`, ['\\Seen', '\\Draft'], new Date('2024-05-05T05:05:05Z'));
    expect(res).toBeTruthy();
    if (!res) return;
    const status = await statusOf(client, mailbox(shop), { uidValidity: true });
    expect(res.uidValidity).toBe(status.uidValidity);
    expect(res.uid).toBeGreaterThan(0);
    const summary = await apiOk(relay, 'GET', `/api/messages/${res.uid}`);
    expect(summary).toMatchObject({ subject: tag, alias: shop.address, seen: true, code: '246810' });
    await client.mailboxOpen(mailbox(shop));
    const m = await one(client, String(res.uid), { flags: true, internalDate: true }, { uid: true });
    expect(m && [...m.flags!].sort()).toEqual(['\\Draft', '\\Seen']);
    expect(m && new Date(m.internalDate!).toISOString()).toBe('2024-05-05T05:05:05.000Z');
    await expect(client.append('INBOX', 'Subject: x\r\n\r\ny\r\n')).rejects.toThrow();
    const asAddress = await connect({ user: shop.address });
    const toInbox = await asAddress.append('INBOX', `Subject: ${tag}-2\r\n\r\ny\r\n`);
    expect(toInbox && toInbox.uid).toBeGreaterThan(res.uid!);
    expect((await apiOk(relay, 'GET', `/api/messages/${toInbox && toInbox.uid}`)).alias).toBe(shop.address);
  });

  it('copies and moves between mailboxes with COPYUID, and expunges with UID EXPUNGE', async () => {
    const from = await createAlias(relay, { site: 'from.example' });
    const to = await createAlias(relay, { site: 'to.example' });
    for (let i = 1; i <= 3; i++) await sendMail(relay, { to: from.address, subject: `move me ${i}`, text: `n${i}` });
    const client = await connect();
    await client.mailboxOpen(mailbox(from));
    await client.messageFlagsAdd('1', ['\\Flagged']);

    const copied = await client.messageCopy('1:2', mailbox(to));
    expect(copied).toBeTruthy();
    if (!copied) return;
    expect(copied.uidMap!.size).toBe(2);
    const toStatus = await statusOf(client, mailbox(to), { messages: true, uidValidity: true });
    expect(toStatus.messages).toBe(2);
    expect(copied.uidValidity).toBe(toStatus.uidValidity);
    const [[srcUid, dstUid]] = [...copied.uidMap!.entries()] as [[number, number]];
    const copy = await apiOk(relay, 'GET', `/api/messages/${dstUid}`);
    expect(copy).toMatchObject({ alias: to.address, subject: 'move me 1' });
    expect((await api(relay, 'GET', `/api/messages/${dstUid}/raw`)).text).toBe((await api(relay, 'GET', `/api/messages/${srcUid}/raw`)).text);

    const moved = await client.messageMove('3', mailbox(to));
    expect(moved && moved.uidMap!.size).toBe(1);
    expect(client.mailbox && client.mailbox.exists).toBe(2);
    expect((await statusOf(client, mailbox(to), { messages: true })).messages).toBe(3);
    // Moving into INBOX (which holds everything) or into the message's own address is refused.
    await expect(client.messageMove('1', 'INBOX')).resolves.toBeFalsy();

    const second = await connect();
    await second.mailboxOpen(mailbox(to));
    const flags = await one(second, String(dstUid), { flags: true }, { uid: true });
    expect(flags && [...flags.flags!]).toEqual(['\\Flagged']);
    expect(await second.messageDelete(String(dstUid), { uid: true })).toBe(true);
    expect(second.mailbox && second.mailbox.exists).toBe(2);
    expect((await api(relay, 'GET', `/api/messages/${dstUid}`)).status).toBe(404);
    expect((await apiOk(relay, 'GET', `/api/aliases/${enc(to.address)}`)).messageCount).toBe(2);
  });

  it('announces a message delivered over SMTP to an IDLE client within 100 ms', async () => {
    const client = await connect({ disableAutoIdle: false });
    await client.mailboxOpen(mailbox(github));
    const before = client.mailbox ? client.mailbox.exists : 0;
    let existsAt = 0;
    const seen = new Promise<number>((resolve) =>
      client.on('exists', (e: { count: number }) => {
        existsAt = Date.now();
        resolve(e.count);
      }),
    );
    void client.idle();
    await eventually(async () => client.idling, 5000, 'IDLE');
    const latencies: number[] = [];
    await sendMail(relay, { to: github.address, subject: uniq('idle'), text: 'hi' });
    const acknowledged = Date.now();
    expect(await seen).toBe(before + 1);
    latencies.push(existsAt - acknowledged);
    expect(latencies[0]!).toBeLessThan(100);
  });

  it('shows one session’s expunges and flag changes in another, and the API’s too', async () => {
    const box = await createAlias(relay, { site: 'shared.example' });
    for (let i = 1; i <= 4; i++) await sendMail(relay, { to: box.address, subject: `shared ${i}`, text: 'x' });
    const a = await connect({ disableAutoIdle: false });
    const b = await connect();
    await a.mailboxOpen(mailbox(box));
    await b.mailboxOpen(mailbox(box));
    const expunged: number[] = [];
    const flagged: { uid?: number; flags: Set<string> }[] = [];
    a.on('expunge', (e: { seq: number }) => expunged.push(e.seq));
    a.on('flags', (e: { uid?: number; flags: Set<string> }) => flagged.push(e));
    void a.idle();
    await eventually(async () => a.idling, 5000, 'IDLE');

    const uids = (await b.search({ all: true }, { uid: true })) as number[];
    await b.messageFlagsAdd(String(uids[1]), ['\\Flagged'], { uid: true });
    await eventually(async () => flagged.find((f) => f.uid === uids[1] && f.flags.has('\\Flagged')), 5000, 'the flag change');
    await b.messageDelete(String(uids[0]), { uid: true });
    await eventually(async () => expunged.includes(1), 5000, 'the expunge');

    // The API: DELETE /api/messages expunges, PATCH seen sets \Seen.
    await apiOk(relay, 'PATCH', `/api/messages/${uids[2]}`, { seen: true });
    await eventually(async () => flagged.find((f) => f.uid === uids[2] && f.flags.has('\\Seen')), 5000, 'the API seen change');
    await apiOk(relay, 'DELETE', `/api/messages/${uids[3]}`, undefined, 204);
    await eventually(async () => expunged.length === 2, 5000, 'the API delete');
    expect(a.mailbox && a.mailbox.exists).toBe(2);

    // Deleting the address expunges its whole mailbox.
    const listed = await allMessages(relay, { alias: box.address });
    expect(listed).toHaveLength(2);
    await apiOk(relay, 'DELETE', `/api/aliases/${enc(box.address)}`, undefined, 204);
    await eventually(async () => expunged.length === 4, 5000, 'the mailbox emptied');
  });

  it('keeps UIDs, UIDVALIDITY and flags across a restart', async () => {
    const client = await connect();
    const before = await statusOf(client, mailbox(github), { uidValidity: true, uidNext: true, messages: true });
    await client.mailboxOpen(mailbox(github));
    const uids = (await client.search({ all: true }, { uid: true })) as number[];
    await client.messageFlagsAdd(String(uids[0]), ['Persisted'], { uid: true });
    await client.logout();
    await relay.restart();
    const again = await connect();
    const after = await statusOf(again, mailbox(github), { uidValidity: true, uidNext: true, messages: true });
    expect(after).toEqual(before);
    await again.mailboxOpen(mailbox(github));
    expect((await again.search({ all: true }, { uid: true })) as number[]).toEqual(uids);
    const m = await one(again, String(uids[0]), { flags: true }, { uid: true });
    expect(m && [...m.flags!]).toContain('Persisted');
  });
});
