import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { InProcessBus } from '../../core/events.ts';
import { LoginThrottle } from '../../core/login-throttle.ts';
import { MailLogins } from '../../core/mail-login.ts';
import type { RelayEvent, Store } from '../../core/ports.ts';
import { Users } from '../../core/users.ts';
import { openSqliteStore } from '../../store/sqlite/store.ts';
import { dispatch, render } from './commands.ts';
import { headerEnd, stuff, topOf } from './format.ts';
import { LineSplitter, parseCommand } from './parser.ts';
import { MaildropLocks, Session } from './session.ts';
import type { SessionIo } from './session.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

/** The client's side of stuffing (RFC 1939 §3). */
const unstuff = (body: Buffer) => b(body.toString('latin1').replace(/(^|\r\n)\.\./g, '$1.'));

describe('LineSplitter', () => {
  it('splits at LF, drops the CR, and joins lines that span chunks', () => {
    const s = new LineSplitter(100);
    expect(s.push(b('US'))).toEqual([]);
    expect(s.push(b('ER me\r\nPA'))).toEqual([{ type: 'line', line: b('USER me') }]);
    expect(s.push(b('SS x\nNOOP\r\n\r\n'))).toEqual([
      { type: 'line', line: b('PASS x') },
      { type: 'line', line: b('NOOP') },
      { type: 'line', line: b('') },
    ]);
  });

  it('skips an overlong line to its end and reports it once, keeping no more than the limit', () => {
    const s = new LineSplitter(10);
    expect(s.push(b('0123456789abc'))).toEqual([]);
    expect(s.push(b('x'.repeat(100_000)))).toEqual([]);
    expect(s.push(b('tail\r\nSTAT\r\n'))).toEqual([{ type: 'too-long' }, { type: 'line', line: b('STAT') }]);
    expect(s.push(b('0123456789\r\n'))).toEqual([{ type: 'line', line: b('0123456789') }]);
  });
});

describe('parseCommand', () => {
  it('reads the keyword case-insensitively and keeps the rest as sent', () => {
    expect(parseCommand(b('retr 1'))).toEqual({ ok: true, command: { keyword: 'RETR', args: ['1'], rest: '1' } });
    expect(parseCommand(b('PASS a b  c'))).toEqual({ ok: true, command: { keyword: 'PASS', args: ['a', 'b', 'c'], rest: 'a b  c' } });
    expect(parseCommand(b('CAPA'))).toEqual({ ok: true, command: { keyword: 'CAPA', args: [], rest: '' } });
  });

  it('refuses empty lines, control characters and keywords that are not words', () => {
    for (const line of ['', '   ', 'RE\x00TR 1', '1234', '?? x', 'RETR\x7f']) expect(parseCommand(b(line)).ok).toBe(false);
  });
});

describe('stuff', () => {
  it('passes ordinary CRLF mail through without copying it', () => {
    const raw = b('Subject: x\r\n\r\nhello\r\n');
    expect(stuff(raw)).toBe(raw);
  });

  it('doubles leading dots, turns bare LFs into CRLF and ends with CRLF', () => {
    expect(stuff(b('.a\r\n.\r\nb.\r\n..c')).toString()).toBe('..a\r\n..\r\nb.\r\n...c\r\n');
    expect(stuff(b('a\nb\r\n.c\n')).toString()).toBe('a\r\nb\r\n..c\r\n');
    expect(stuff(b('no end')).toString()).toBe('no end\r\n');
    expect(stuff(b('')).toString()).toBe('');
  });

  it('round-trips every byte through the client’s unstuffing', () => {
    const all = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) all[i] = i;
    const raw = Buffer.concat([b('.x\r\n'), all.filter((c) => c !== 0x0a && c !== 0x0d), b('\r\n.\r\n..\r\n.end\r\n')]);
    const wire = stuff(raw);
    expect(wire.includes(b('\r\n.\r\n'))).toBe(false);
    expect(unstuff(wire).equals(raw)).toBe(true);
  });
});

describe('topOf', () => {
  const raw = b('A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n');
  it('gives the header, the blank line and the first n body lines', () => {
    expect(headerEnd(raw)).toBe(14);
    expect(topOf(raw, 0).toString()).toBe('A: 1\r\nB: 2\r\n\r\n');
    expect(topOf(raw, 2).toString()).toBe('A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n');
    expect(topOf(raw, 99).equals(raw)).toBe(true);
    expect(topOf(b('A: 1\r\n'), 3).toString()).toBe('A: 1\r\n');
  });
});

/** A SessionIo that records what the session writes. */
function fakeIo(over: Partial<SessionIo> = {}): SessionIo & { written: string[] } {
  const written: string[] = [];
  return {
    written,
    write: (parts) => void written.push(...parts.map((p) => p.toString())),
    flush: async () => {},
    readLine: async () => null,
    beginTls: () => async () => {},
    close: () => {},
    authenticated: () => {},
    secure: false,
    loopback: false,
    remoteAddress: '198.51.100.7',
    id: 'pop3-test',
    ...over,
  };
}

describe('Session', () => {
  const stores: Store[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  async function setup() {
    const store = await openSqliteStore(':memory:');
    stores.push(store);
    const users = new Users(store);
    const { user, token } = await users.add('alice');
    const alias = await store.createAlias({ userId: user.id, address: 'a@wisp.test', site: null, label: null, createdAt: new Date(), expiresAt: null });
    const raw = b('Subject: one\r\n\r\n.dot\r\n');
    await store.saveMessages([{ userId: user.id, aliasId: alias.id, receivedAt: new Date(), raw, mailFrom: '', from: '', subject: 'one', preview: '', code: null, link: null }]);
    const bus = new InProcessBus();
    const events: RelayEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const deps = { store, bus, logins: new MailLogins(store, users, new LoginThrottle({ baseDelayMs: 1 })), locks: new MaildropLocks(), log: pino({ level: 'silent' }) };
    return { store, token, deps, events, raw };
  }

  const say = async (s: Session, line: string) => render((await dispatch(s, b(line))).reply).join('');

  it('refuses credentials in the clear from a remote client and does not offer them', async () => {
    const { deps, token } = await setup();
    const s = new Session(deps, fakeIo());
    const capa = await say(s, 'CAPA');
    expect(capa).toContain('STLS\r\n');
    expect(capa).not.toMatch(/USER|SASL/);
    expect(await say(s, 'USER alice')).toMatch(/^-ERR \[AUTH\] .*STLS/);
    expect(await say(s, `AUTH PLAIN ${Buffer.from(`\0alice\0${token}`).toString('base64')}`)).toMatch(/^-ERR \[AUTH\] .*STLS/);
    expect(s.state).toBe('authorization');
  });

  it('accepts them over TLS and runs a whole session through UPDATE', async () => {
    const { deps, token, events, store, raw } = await setup();
    const s = new Session(deps, fakeIo({ secure: true }));
    expect(await say(s, 'CAPA')).toMatch(/USER\r\nSASL PLAIN\r\n/);
    expect(await say(s, 'USER alice')).toMatch(/^\+OK/);
    expect(await say(s, `PASS ${token}`)).toBe(`+OK 1 messages (${raw.length} octets)\r\n`);
    expect(await say(s, 'RETR 1')).toBe(`+OK ${raw.length} octets\r\nSubject: one\r\n\r\n..dot\r\n.\r\n`);
    // A second session on the same maildrop is refused while this one lasts.
    const other = new Session(deps, fakeIo({ secure: true }));
    await say(other, 'USER ALICE');
    expect(await say(other, `PASS ${token}`)).toMatch(/^-ERR \[IN-USE\]/);
    expect(await say(s, 'DELE 1')).toMatch(/^\+OK/);
    expect(await say(s, 'QUIT')).toMatch(/^\+OK Bye: 1 deleted, 0 left/);
    expect(s.state).toBe('update');
    expect(events.filter((e) => e.type === 'expunge')).toHaveLength(1);
    expect(await store.listMailbox({ userId: 1 })).toEqual([]);
    expect(await say(other, `AUTH PLAIN ${Buffer.from(`\0alice\0${token}`).toString('base64')}`)).toBe('+OK 0 messages (0 octets)\r\n');
  });

  it('leaves the maildrop whole and unlocked when the connection ends without QUIT', async () => {
    const { deps, token, store, events } = await setup();
    const s = new Session(deps, fakeIo({ loopback: true }));
    await say(s, 'USER a@wisp.test');
    await say(s, `PASS ${token}`);
    await say(s, 'RETR 1');
    await say(s, 'DELE 1');
    s.end();
    expect(await store.listMailbox({ userId: 1 })).toHaveLength(1);
    expect(events).toEqual([]);
    const again = new Session(deps, fakeIo({ loopback: true }));
    await say(again, 'USER a@wisp.test');
    expect(await say(again, `PASS ${token}`)).toMatch(/^\+OK 1 messages/);
  });
});
