// IMAP edge cases over a raw socket (INTERFACE.md §4): exact bytes in, exact responses out.
// Malformed and unknown commands, wrong states, literals, pipelining, STARTTLS, AUTHENTICATE,
// timeouts, IDLE, and the rule that no EXPUNGE is sent during FETCH/STORE/SEARCH.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alias } from '../../shared/api.ts';
import { ImapWire } from '../support/imap.ts';
import { createAlias, sendMail, sleep, startRelay, uniq } from '../support/relay.ts';
import type { Relay } from '../support/relay.ts';

const LOGIN_TIMEOUT_MS = 1500;
const MAX_MESSAGE = 64 * 1024;

let relay: Relay;
let alias: Alias;
const wires: ImapWire[] = [];

async function connect(opts: { tls?: boolean } = {}): Promise<ImapWire> {
  const wire = await ImapWire.connect(opts.tls ? relay.ports.imaps! : relay.ports.imap!, opts);
  wires.push(wire);
  return wire;
}

async function loggedIn(select?: string): Promise<ImapWire> {
  const wire = await connect();
  expect((await wire.command('l', `LOGIN me ${relay.token}`)).status).toBe('OK');
  if (select) expect((await wire.command('s', `SELECT "${select}"`)).status).toBe('OK');
  return wire;
}

beforeAll(async () => {
  relay = await startRelay({
    ports: { imap: '0', imaps: '0' },
    env: { WISP_IMAP_LOGIN_TIMEOUT_MS: String(LOGIN_TIMEOUT_MS) },
    args: ['--max-message-size', String(MAX_MESSAGE)],
  });
  alias = await createAlias(relay, { site: 'example.com' });
  for (let i = 1; i <= 3; i++) {
    await sendMail(relay, { to: alias.address, subject: `transcript ${i}`, text: `Body number ${i}\n` });
  }
});

afterAll(async () => {
  for (const w of wires) w.close();
  await relay?.stop();
});

describe('IMAP transcripts', () => {
  it('greets with its capabilities, STARTTLS and AUTH=PLAIN on the plain port', async () => {
    const wire = await connect();
    expect(wire.greeting).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 [^\]]*\] /);
    for (const cap of ['IDLE', 'UIDPLUS', 'LITERAL+', 'ID', 'NAMESPACE', 'ENABLE', 'MOVE', 'STARTTLS', 'AUTH=PLAIN', 'SASL-IR']) {
      expect(wire.greeting.split(/[\s\]]/)).toContain(cap);
    }
    const caps = await wire.command('a1', 'CAPABILITY');
    expect(caps.lines[0]).toMatch(/^\* CAPABILITY IMAP4rev1 /);
    expect(caps.tagged).toBe('a1 OK CAPABILITY completed');
    const secure = await connect({ tls: true });
    expect(secure.greeting).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 /);
    expect(secure.greeting).not.toContain('STARTTLS');
  });

  it('answers malformed commands with BAD and carries on', async () => {
    const wire = await connect();
    expect((await wire.command('a1', 'FETCH')).tagged).toMatch(/^a1 BAD /);
    expect((await wire.command('a2', 'LOGIN onlyone')).tagged).toMatch(/^a2 BAD /);
    expect((await wire.command('a3', 'LOGIN "unterminated')).tagged).toMatch(/^a3 BAD /);
    wire.send(')(*garbage\r\n');
    expect(await wire.line()).toMatch(/^\* BAD /);
    expect((await wire.command('a4', 'NOOP')).tagged).toBe('a4 OK NOOP completed');
  });

  it('answers an unknown command with BAD', async () => {
    const wire = await connect();
    expect((await wire.command('a1', 'FROBNICATE now')).tagged).toBe('a1 BAD Unknown command FROBNICATE');
    expect((await wire.command('a2', 'UID FROB 1')).tagged).toMatch(/^a2 BAD Unknown command UID FROB/);
    expect((await wire.command('a3', 'NOOP')).status).toBe('OK');
  });

  it('refuses commands in the wrong state', async () => {
    const wire = await connect();
    expect((await wire.command('a1', 'SELECT INBOX')).tagged).toBe('a1 BAD Log in first.');
    expect((await wire.command('a2', 'FETCH 1 FLAGS')).tagged).toBe('a2 BAD Log in first.');
    expect((await wire.command('a3', 'IDLE')).tagged).toBe('a3 BAD Log in first.');
    expect((await wire.command('a4', `LOGIN me ${relay.token}`)).status).toBe('OK');
    expect((await wire.command('a5', 'FETCH 1 FLAGS')).tagged).toBe('a5 BAD Select a mailbox first.');
    expect((await wire.command('a6', 'CLOSE')).tagged).toBe('a6 BAD Select a mailbox first.');
    expect((await wire.command('a7', 'LOGIN me x')).tagged).toMatch(/^a7 BAD /);
    expect((await wire.command('a8', 'STARTTLS')).tagged).toMatch(/^a8 BAD /);
  });

  it('runs pipelined commands in order', async () => {
    const wire = await connect();
    wire.send(`p1 NOOP\r\np2 LOGIN me ${relay.token}\r\np3 SELECT INBOX\r\np4 FETCH 1 (UID)\r\np5 FROB\r\np6 LOGOUT\r\n`);
    const r1 = await wire.completion('p1');
    const r2 = await wire.completion('p2');
    const r3 = await wire.completion('p3');
    const r4 = await wire.completion('p4');
    const r5 = await wire.completion('p5');
    const r6 = await wire.completion('p6');
    expect([r1.status, r2.status, r3.status, r4.status, r5.status, r6.status]).toEqual(['OK', 'OK', 'OK', 'OK', 'BAD', 'OK']);
    expect(r3.lines).toContain('* 3 EXISTS');
    expect(r4.lines[0]).toMatch(/^\* 1 FETCH \(UID \d+\)$/);
    expect(r6.lines[0]).toMatch(/^\* BYE /);
  });

  it('asks for synchronizing literals and takes non-synchronizing ones straight away', async () => {
    const wire = await connect();
    wire.send('a1 LOGIN {2}\r\n');
    expect(await wire.line()).toMatch(/^\+ /);
    wire.send(`me {${relay.token.length}}\r\n`);
    expect(await wire.line()).toMatch(/^\+ /);
    wire.send(`${relay.token}\r\n`);
    expect((await wire.completion('a1')).status).toBe('OK');
    const quoted = await wire.command('a2', 'STATUS {5+}\r\nINBOX (MESSAGES)');
    expect(quoted.lines[0]).toBe('* STATUS "INBOX" (MESSAGES 3)');
  });

  it('refuses literals that are too large and goes on', async () => {
    const wire = await connect();
    // Before login, literals stay small.
    wire.send('a1 LOGIN {100000}\r\n');
    expect(await wire.line()).toMatch(/^a1 BAD /);
    expect((await wire.command('a2', `LOGIN me ${relay.token}`)).status).toBe('OK');
    // A synchronizing literal over the message size limit is refused without a continuation.
    wire.send(`a3 APPEND "Aliases/${alias.address}" {${MAX_MESSAGE + 1}}\r\n`);
    expect(await wire.line()).toMatch(/^a3 NO \[TOOBIG\] /);
    // A non-synchronizing one is read through and dropped.
    const big = Buffer.alloc(MAX_MESSAGE + 10, 'x');
    wire.send(Buffer.concat([Buffer.from(`a4 APPEND "Aliases/${alias.address}" {${big.length}+}\r\n`), big, Buffer.from('\r\n')]));
    expect(await wire.line()).toMatch(/^a4 NO \[TOOBIG\] /);
    expect((await wire.command('a5', 'NOOP')).status).toBe('OK');
    const status = await wire.command('a6', `STATUS "Aliases/${alias.address}" (MESSAGES)`);
    expect(status.lines[0]).toMatch(/\(MESSAGES 3\)$/);
  });

  it('refuses a line that is too long and goes on', async () => {
    const wire = await connect();
    wire.send(`a1 NOOP ${'x'.repeat(200 * 1024)}\r\n`);
    expect(await wire.line()).toMatch(/^a1 BAD /);
    expect((await wire.command('a2', 'NOOP')).status).toBe('OK');
  });

  it('upgrades with STARTTLS and drops what was pipelined before the handshake', async () => {
    const wire = await connect();
    wire.send('t1 STARTTLS\r\nt2 LOGIN me wrong\r\n');
    expect((await wire.completion('t1')).tagged).toBe('t1 OK Begin TLS negotiation now');
    await wire.startTls();
    const caps = await wire.command('t3', 'CAPABILITY');
    expect(caps.text).not.toContain('t2 ');
    expect(caps.lines[0]).not.toContain('STARTTLS');
    expect((await wire.command('t4', `LOGIN me ${relay.token}`)).tagged).toMatch(/^t4 OK \[CAPABILITY IMAP4rev1 .*\] Logged in$/);
  });

  it('logs in with AUTHENTICATE PLAIN, with a continuation or an initial response', async () => {
    const plain = (user: string, token: string) => Buffer.from(`\0${user}\0${token}`).toString('base64');
    const a = await connect();
    a.send('a1 AUTHENTICATE PLAIN\r\n');
    expect(await a.line()).toBe('+ ');
    a.send(`${plain('me', relay.token)}\r\n`);
    expect((await a.completion('a1')).tagged).toMatch(/^a1 OK \[CAPABILITY IMAP4rev1 /);
    const b = await connect();
    expect((await b.command('b1', `AUTHENTICATE PLAIN ${plain(alias.address, relay.token)}`)).status).toBe('OK');
    expect((await b.command('b2', 'LIST "" *')).lines.slice(0, -1)).toEqual(['* LIST (\\HasNoChildren) "/" "INBOX"']);
    const c = await connect();
    c.send('c1 AUTHENTICATE PLAIN\r\n');
    await c.line();
    c.send('*\r\n');
    expect((await c.completion('c1')).tagged).toBe('c1 BAD Authentication cancelled.');
    expect((await c.command('c2', 'AUTHENTICATE CRAM-MD5')).status).toBe('NO');
  });

  it('fails a bad login with AUTHENTICATIONFAILED, more slowly each time', async () => {
    const wire = await connect();
    const times: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const t0 = Date.now();
      expect((await wire.command(`f${i}`, 'LOGIN slowpoke wisp_not_a_real_token_at_all')).tagged).toBe(`f${i} NO [AUTHENTICATIONFAILED] Invalid login or token.`);
      times.push(Date.now() - t0);
    }
    expect(times[2]!).toBeGreaterThan(times[0]!);
    expect(times[2]!).toBeGreaterThanOrEqual(900);
    // A token that is right for another login name fails the same way.
    expect((await wire.command('f4', `LOGIN someone.else ${relay.token}`)).tagged).toMatch(/AUTHENTICATIONFAILED/);
  });

  it('closes an unauthenticated connection after its timeout', async () => {
    const wire = await connect();
    const t0 = Date.now();
    expect(await wire.line(LOGIN_TIMEOUT_MS * 4)).toMatch(/^\* BYE /);
    for (let i = 0; i < 40 && !wire.closed; i++) await sleep(50);
    expect(wire.closed).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(LOGIN_TIMEOUT_MS - 100);
  });

  it('refuses to create, delete or rename mailboxes, and answers LIST "" "" with the delimiter', async () => {
    const wire = await loggedIn();
    for (const cmd of ['CREATE Work', 'DELETE INBOX', 'RENAME INBOX Old']) {
      const r = await wire.command('m', cmd);
      expect(r.tagged).toMatch(/^m NO \[CANNOT\] Mailboxes here are your addresses/);
    }
    expect((await wire.command('l', 'LIST "" ""')).lines[0]).toBe('* LIST (\\Noselect) "/" ""');
    const list = await wire.command('l2', 'LIST "" %');
    expect(list.lines.slice(0, -1)).toEqual(['* LIST (\\HasNoChildren) "/" "INBOX"', '* LIST (\\Noselect \\HasChildren) "/" "Aliases"']);
    const lsub = await wire.command('l3', 'LSUB "" "Aliases/*"');
    expect(lsub.lines).toContain(`* LSUB (\\HasNoChildren) "/" "Aliases/${alias.address}"`);
    expect((await wire.command('l4', 'SELECT Aliases')).tagged).toMatch(/^l4 NO \[CANNOT\]/);
    expect((await wire.command('l5', 'SELECT Nowhere')).tagged).toMatch(/^l5 NO \[NONEXISTENT\]/);
    expect((await wire.command('l6', 'SUBSCRIBE INBOX')).status).toBe('OK');
  });

  it('answers ID, NAMESPACE and ENABLE', async () => {
    const wire = await loggedIn();
    expect((await wire.command('i', 'ID ("name" "transcript")')).lines[0]).toBe('* ID ("name" "Wisp" "vendor" "Wisp")');
    expect((await wire.command('n', 'NAMESPACE')).lines[0]).toBe('* NAMESPACE (("" "/")) NIL NIL');
    expect((await wire.command('e', 'ENABLE CONDSTORE')).lines[0]).toBe('* ENABLED');
  });

  it('selects with the standard responses and fetches partial sections', async () => {
    const wire = await loggedIn();
    const sel = await wire.command('s', 'EXAMINE INBOX');
    expect(sel.lines).toEqual(
      expect.arrayContaining([
        '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)',
        '* OK [PERMANENTFLAGS ()] Read-only',
        '* 3 EXISTS',
        '* 0 RECENT',
        expect.stringMatching(/^\* OK \[UIDVALIDITY \d+\] /),
        expect.stringMatching(/^\* OK \[UIDNEXT \d+\] /),
      ]),
    );
    expect(sel.tagged).toBe('s OK [READ-ONLY] EXAMINE completed');
    const partial = await wire.command('f', 'FETCH 2 (BODY[TEXT]<0.4> BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    expect(partial.text).toContain('BODY[TEXT]<0> {4}\r\nBody');
    expect(partial.text).toContain('BODY[HEADER.FIELDS (SUBJECT)] {25}\r\nSubject: transcript 2\r\n\r\n');
    // EXAMINE is read-only: BODY[] did not set \Seen, and STORE is refused.
    expect((await wire.command('f2', 'FETCH 2 FLAGS')).lines[0]).toBe('* 2 FETCH (FLAGS ())');
    expect((await wire.command('st', 'STORE 2 +FLAGS (\\Seen)')).status).toBe('NO');
    expect((await wire.command('cs', 'SEARCH CHARSET KOI8-R ALL')).tagged).toMatch(/^cs NO \[BADCHARSET \(UTF-8 US-ASCII\)\] /);
    expect((await wire.command('cu', 'SEARCH CHARSET us-ascii SUBJECT "TRANSCRIPT 3"')).lines[0]).toBe('* SEARCH 3');
  });

  it('sets \\Seen on BODY[], RFC822 and RFC822.TEXT, not on BODY.PEEK or RFC822.HEADER', async () => {
    const address = (await createAlias(relay, { site: 'seen.example' })).address;
    for (let i = 0; i < 3; i++) await sendMail(relay, { to: address, subject: `seen ${i}`, text: 'x' });
    const wire = await loggedIn(`Aliases/${address}`);
    const peek = await wire.command('p', 'FETCH 1:3 (BODY.PEEK[] RFC822.HEADER RFC822.SIZE)');
    expect(peek.text).not.toContain('\\Seen');
    const body = await wire.command('b', 'FETCH 1 (BODY[TEXT])');
    expect(body.text).toMatch(/\r\n FLAGS \(\\Seen\)\)\r\nb OK/);
    const rfc822 = await wire.command('r', 'UID FETCH 1:* (RFC822)');
    expect(rfc822.text.match(/FLAGS \(\\Seen\)/g)).toHaveLength(2);
    expect(rfc822.text).toMatch(/^\* 1 FETCH \(UID \d+ RFC822 \{\d+\}\r\nReturn-Path: [^]*\r\n\)\r\n\* 2 FETCH /);
    const flags = await wire.command('f', 'FETCH 1:3 FLAGS');
    expect(flags.lines.slice(0, -1)).toEqual(['* 1 FETCH (FLAGS (\\Seen))', '* 2 FETCH (FLAGS (\\Seen))', '* 3 FETCH (FLAGS (\\Seen))']);
  });

  it('announces new mail at once while IDLE', async () => {
    const wire = await loggedIn(`Aliases/${alias.address}`);
    wire.send('i1 IDLE\r\n');
    expect(await wire.line()).toBe('+ idling');
    const subject = uniq('idle');
    let t250 = 0;
    const sent = sendMail(relay, { to: alias.address, subject, text: 'x' }).then(() => (t250 = Date.now()));
    const exists = await wire.line(5000);
    const tExists = Date.now();
    await sent;
    expect(exists).toBe('* 4 EXISTS');
    expect(await wire.line()).toBe('* 1 RECENT');
    expect(tExists - t250).toBeLessThan(100);
    wire.send('DONE\r\n');
    expect((await wire.completion('i1')).tagged).toBe('i1 OK IDLE terminated');
    const recent = await wire.command('r', 'SEARCH RECENT');
    expect(recent.lines[0]).toBe('* SEARCH 4');
  });

  it('holds back expunges during FETCH, STORE and SEARCH, and sends them after', async () => {
    const address = (await createAlias(relay, { site: 'hold.example' })).address;
    for (let i = 0; i < 3; i++) await sendMail(relay, { to: address, subject: `hold ${i}`, text: 'x' });
    const a = await loggedIn(`Aliases/${address}`);
    const b = await loggedIn(`Aliases/${address}`);
    expect((await b.command('b1', 'STORE 2 +FLAGS.SILENT (\\Deleted)')).status).toBe('OK');
    expect((await b.command('b2', 'EXPUNGE')).lines).toEqual(['* 2 EXPUNGE', 'b2 OK EXPUNGE completed']);
    const fetch = await a.command('a1', 'FETCH 1:* (FLAGS)');
    expect(fetch.text).not.toContain('EXPUNGE');
    // The expunged message keeps its number (and its last flags) until the client is told.
    expect(fetch.lines.slice(0, -1)).toEqual(['* 1 FETCH (FLAGS ())', '* 2 FETCH (FLAGS ())', '* 3 FETCH (FLAGS ())']);
    expect((await a.command('a2', 'SEARCH ALL')).text).not.toContain('EXPUNGE');
    expect((await a.command('a3', 'STORE 1 +FLAGS (\\Flagged)')).text).not.toContain('EXPUNGE');
    const noop = await a.command('a4', 'NOOP');
    expect(noop.lines).toEqual(['* 2 EXPUNGE', 'a4 OK NOOP completed']);
    // UID commands may announce them: B sees A's flag change as an unsolicited FETCH.
    const bNoop = await b.command('b3', 'NOOP');
    expect(bNoop.lines[0]).toMatch(/^\* 1 FETCH \(UID \d+ FLAGS \(\\Flagged\)\)$/);
  });

  it('closes with BYE on LOGOUT', async () => {
    const wire = await loggedIn();
    const r = await wire.command('o', 'LOGOUT');
    expect(r.lines).toEqual(['* BYE Wisp IMAP server logging out', 'o OK LOGOUT completed']);
    await sleep(100);
    expect(wire.closed).toBe(true);
  });

  // A client from another machine, played on loopback: the relay is told to trust no address.
  it('refuses LOGIN in plaintext from another machine, with PRIVACYREQUIRED', async () => {
    const open = await startRelay({ ports: { imap: '0' }, env: { WISP_TREAT_LOOPBACK_AS_REMOTE: '1' } });
    try {
      const net = await import('node:net');
      const socket = net.connect({ host: '127.0.0.1', port: open.ports.imap! });
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
      const waitFor = async (re: RegExp) => {
        for (let i = 0; i < 100 && !re.test(text); i++) await sleep(50);
        return text;
      };
      await waitFor(/\r\n/);
      expect(text).toContain('LOGINDISABLED');
      expect(text).not.toContain('AUTH=PLAIN');
      socket.write(`a1 LOGIN me ${open.token}\r\n`);
      expect(await waitFor(/a1 /)).toContain('a1 NO [PRIVACYREQUIRED]');
      socket.destroy();
    } finally {
      await open.stop();
    }
  });
});
