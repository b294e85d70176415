import { describe, expect, it } from 'vitest';
import { parseCommand } from './parser.ts';
import type { Command } from './ast.ts';
import { prng } from '../../../test/support/prng.ts';

function parse(text: string | Buffer): Command {
  const r = parseCommand(Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'));
  if (!r.ok) throw new Error(`parse failed: ${r.text}`);
  return r.command;
}

function fails(text: string) {
  const r = parseCommand(Buffer.from(text, 'utf8'));
  if (r.ok) throw new Error(`expected a parse error for ${text}`);
  return r;
}

describe('IMAP parser', () => {
  it('parses commands without arguments, in any case', () => {
    for (const name of ['CAPABILITY', 'NOOP', 'LOGOUT', 'STARTTLS', 'CHECK', 'CLOSE', 'UNSELECT', 'IDLE', 'NAMESPACE']) {
      expect(parse(`a1 ${name.toLowerCase()}`)).toEqual({ tag: 'a1', name });
    }
    expect(parse('x.1 expunge')).toEqual({ tag: 'x.1', name: 'EXPUNGE', uid: false });
  });

  it('parses LOGIN with atoms, quoted strings and literals', () => {
    expect(parse('a LOGIN me wisp_abc')).toEqual({ tag: 'a', name: 'LOGIN', user: 'me', password: 'wisp_abc' });
    expect(parse('a LOGIN "m\\"e" "p\\\\w"')).toMatchObject({ user: 'm"e', password: 'p\\w' });
    expect(parse('a LOGIN {2}\r\nme {3+}\r\na b')).toMatchObject({ user: 'me', password: 'a b' });
    expect(parse('a LOGIN user@wisp.localhost x]y')).toMatchObject({ user: 'user@wisp.localhost', password: 'x]y' });
  });

  it('parses AUTHENTICATE with and without an initial response', () => {
    expect(parse('a AUTHENTICATE plain')).toEqual({ tag: 'a', name: 'AUTHENTICATE', mechanism: 'PLAIN', initial: null });
    expect(parse('a AUTHENTICATE PLAIN AG1lAHg=')).toMatchObject({ initial: 'AG1lAHg=' });
    expect(parse('a AUTHENTICATE PLAIN =')).toMatchObject({ initial: '=' });
  });

  it('parses mailbox commands', () => {
    expect(parse('a SELECT INBOX')).toEqual({ tag: 'a', name: 'SELECT', mailbox: 'INBOX' });
    expect(parse('a EXAMINE "Aliases/x@y"')).toMatchObject({ name: 'EXAMINE', mailbox: 'Aliases/x@y' });
    expect(parse('a RENAME a b')).toMatchObject({ name: 'RENAME', mailbox: 'a', to: 'b' });
    expect(parse('a LIST "" *')).toEqual({ tag: 'a', name: 'LIST', reference: '', pattern: '*' });
    expect(parse('a LSUB "" Aliases/%')).toMatchObject({ name: 'LSUB', pattern: 'Aliases/%' });
    expect(parse('a STATUS INBOX (MESSAGES uidnext UIDVALIDITY UNSEEN RECENT)')).toMatchObject({
      items: ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'RECENT'],
    });
    expect(parse('a ENABLE CONDSTORE utf8=accept')).toMatchObject({ capabilities: ['CONDSTORE', 'UTF8=ACCEPT'] });
    expect(parse('a ID NIL')).toMatchObject({ params: null });
    expect(parse('a ID ("name" "imapflow" "version" NIL)')).toMatchObject({ params: [['name', 'imapflow'], ['version', null]] });
  });

  it('parses APPEND with flags, a date and the message literal', () => {
    const c = parse(Buffer.from('a APPEND "Aliases/x@y" (\\Seen $Work) " 7-Feb-1994 21:52:25 -0800" {5+}\r\nhello'));
    expect(c).toMatchObject({ name: 'APPEND', mailbox: 'Aliases/x@y', flags: ['\\Seen', '$Work'] });
    if (c.name !== 'APPEND') throw new Error();
    expect(c.date?.toISOString()).toBe('1994-02-08T05:52:25.000Z');
    expect(c.message.toString()).toBe('hello');
    expect(parse('a APPEND INBOX {3}\r\nabc')).toMatchObject({ flags: [], date: null });
  });

  it('parses sequence sets, UID commands and FETCH items', () => {
    expect(parse('a FETCH 1:*,3,7:5 FLAGS')).toEqual({
      tag: 'a',
      name: 'FETCH',
      uid: false,
      set: [
        { from: 1, to: '*' },
        { from: 3, to: 3 },
        { from: 7, to: 5 },
      ],
      items: [{ kind: 'FLAGS' }],
      macro: false,
    });
    expect(parse('a uid fetch 1:* (UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY INTERNALDATE RFC822 RFC822.HEADER RFC822.TEXT)')).toMatchObject({
      uid: true,
      items: ['UID', 'FLAGS', 'RFC822.SIZE', 'ENVELOPE', 'BODYSTRUCTURE', 'BODY', 'INTERNALDATE', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT'].map((kind) => ({ kind })),
    });
    expect(parse('a FETCH 1 ALL')).toMatchObject({ macro: true, items: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }, { kind: 'ENVELOPE' }] });
    expect(parse('a FETCH 1 fast')).toMatchObject({ items: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }] });
    expect(parse('a FETCH 1 FULL')).toMatchObject({ items: [{}, {}, {}, { kind: 'ENVELOPE' }, { kind: 'BODY' }] });
  });

  it('parses every body section form and partial ranges', () => {
    const att = (s: string) => {
      const c = parse(`a FETCH 1 (${s})`);
      if (c.name !== 'FETCH') throw new Error();
      return c.items[0];
    };
    expect(att('BODY[]')).toEqual({ kind: 'BODY[]', peek: false, section: { part: [], text: null, fields: [] }, partial: null });
    expect(att('BODY.PEEK[HEADER]')).toMatchObject({ peek: true, section: { text: 'HEADER' } });
    expect(att('body.peek[header.fields (From "Subject" x-y)]')).toMatchObject({ section: { part: [], text: 'HEADER.FIELDS', fields: ['From', 'Subject', 'x-y'] } });
    expect(att('BODY[HEADER.FIELDS.NOT (Received)]')).toMatchObject({ section: { text: 'HEADER.FIELDS.NOT', fields: ['Received'] } });
    expect(att('BODY[TEXT]<0.100>')).toMatchObject({ section: { text: 'TEXT' }, partial: { start: 0, length: 100 } });
    expect(att('BODY[1.2.3]')).toMatchObject({ section: { part: [1, 2, 3], text: null } });
    expect(att('BODY[2.MIME]')).toMatchObject({ section: { part: [2], text: 'MIME' } });
    expect(att('BODY[4.1.HEADER]<10.20>')).toMatchObject({ section: { part: [4, 1], text: 'HEADER' }, partial: { start: 10, length: 20 } });
    expect(att('BODY[3.TEXT]')).toMatchObject({ section: { part: [3], text: 'TEXT' } });
    fails('a FETCH 1 BODY[MIME]');
    fails('a FETCH 1 BODY[0]');
    fails('a FETCH 1 BODY[1.]');
    fails('a FETCH 1 BODY[HEADER.FIELDS]');
    fails('a FETCH 1 BODY.PEEK');
    fails('a FETCH 1 BODY[]<1.0>');
    fails('a FETCH 1 (FLAGS');
    fails('a FETCH 0 FLAGS');
  });

  it('parses STORE in every form', () => {
    expect(parse('a STORE 1:3 +FLAGS (\\Deleted)')).toMatchObject({ name: 'STORE', uid: false, mode: 'add', silent: false, flags: ['\\Deleted'] });
    expect(parse('a UID STORE 5 -FLAGS.SILENT \\Seen $x')).toMatchObject({ uid: true, mode: 'remove', silent: true, flags: ['\\Seen', '$x'] });
    expect(parse('a STORE 1 FLAGS ()')).toMatchObject({ mode: 'replace', flags: [] });
    fails('a STORE 1 FLAGZ (\\Seen)');
  });

  it('parses every SEARCH key', () => {
    const c = parse(
      'a UID SEARCH CHARSET UTF-8 ALL ANSWERED BCC b BEFORE 1-Feb-2024 BODY "x y" CC c DELETED DRAFT FLAGGED FROM f ' +
        'HEADER X-Tag v KEYWORD $k LARGER 10 NEW NOT SEEN OLD ON "02-Mar-2024" OR RECENT UNSEEN SENTBEFORE 1-Jan-2020 ' +
        'SENTON 1-Jan-2020 SENTSINCE 1-Jan-2020 SINCE 1-Jan-2020 SMALLER 99 SUBJECT s TEXT t TO t2 UID 1:5 UNANSWERED ' +
        'UNDELETED UNDRAFT UNFLAGGED UNKEYWORD $k 1,3:* (SEEN FLAGGED)',
    );
    if (c.name !== 'SEARCH' || c.criteria.kind !== 'and') throw new Error();
    expect(c.charset).toBe('UTF-8');
    expect(c.uid).toBe(true);
    const kinds = c.criteria.keys.map((k) => k.kind);
    expect(kinds).toEqual([
      'all', 'flag', 'header', 'date', 'body', 'header', 'flag', 'flag', 'flag', 'header', 'header', 'flag', 'size', 'new', 'not', 'old',
      'date', 'or', 'date', 'date', 'date', 'date', 'size', 'header', 'text', 'header', 'uid', 'flag', 'flag', 'flag', 'flag', 'flag', 'seq', 'and',
    ]);
    expect(c.criteria.keys[3]).toEqual({ kind: 'date', of: 'internal', op: 'before', date: { year: 2024, month: 2, day: 1 } });
    expect(c.criteria.keys[10]).toEqual({ kind: 'header', field: 'x-tag', value: 'v' });
    expect(c.criteria.keys[17]).toEqual({ kind: 'or', a: { kind: 'recent' }, b: { kind: 'flag', flag: '\\Seen', set: false } });
    expect(parse('a SEARCH TEXT {4}\r\nçé')).toMatchObject({ criteria: { kind: 'text', value: 'çé' } });
    fails('a SEARCH');
    fails('a SEARCH FROBNICATE');
    fails('a SEARCH BEFORE 31-Foo-2020');
    fails('a SEARCH OR SEEN');
    fails(`a SEARCH ${'NOT '.repeat(100)}SEEN`);
  });

  it('parses COPY, MOVE and UID EXPUNGE', () => {
    expect(parse('a COPY 1:2 "Aliases/x@y"')).toEqual({ tag: 'a', name: 'COPY', uid: false, set: [{ from: 1, to: 2 }], mailbox: 'Aliases/x@y' });
    expect(parse('a UID MOVE 4 INBOX')).toMatchObject({ name: 'MOVE', uid: true });
    expect(parse('a UID EXPUNGE 3:4')).toEqual({ tag: 'a', name: 'EXPUNGE', uid: true, set: [{ from: 3, to: 4 }] });
    fails('a UID EXPUNGE');
  });

  it('returns errors as data, with the tag when there is one', () => {
    expect(fails('a1 FROB')).toMatchObject({ tag: 'a1', text: 'Unknown command FROB' });
    expect(fails('a1 UID NOOP')).toMatchObject({ tag: 'a1' });
    expect(fails('a1 SELECT')).toMatchObject({ tag: 'a1', name: 'SELECT' });
    expect(fails('a1 NOOP extra')).toMatchObject({ tag: 'a1' });
    expect(fails('a1')).toMatchObject({ tag: 'a1' });
    expect(fails('+ NOOP')).toMatchObject({ tag: null });
    expect(fails('')).toMatchObject({ tag: null });
    expect(fails('a LOGIN {10}\r\nshort')).toMatchObject({ tag: 'a' });
    expect(fails('a LOGIN "open')).toMatchObject({ tag: 'a' });
  });

  it('never throws on random or mutated input', () => {
    const rand = prng(99);
    const seeds = [
      'a1 UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100> BODYSTRUCTURE)',
      'a2 SEARCH CHARSET UTF-8 OR (FROM "x" SINCE 1-Jan-2020) NOT TEXT {3}\r\nabc',
      'a3 APPEND "Aliases/a@b" (\\Seen) " 1-Jan-2020 00:00:00 +0000" {2}\r\nhi',
      'a4 STORE 1,2:5 +FLAGS.SILENT (\\Deleted $x)',
      'a5 LOGIN {2+}\r\nme "pass word"',
    ];
    for (let round = 0; round < 3000; round++) {
      const base = Buffer.from(seeds[round % seeds.length]!, 'latin1');
      const bytes = Buffer.from(base);
      const edits = 1 + Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      const cut = rand() < 0.3 ? bytes.subarray(0, Math.floor(rand() * bytes.length)) : bytes;
      expect(() => parseCommand(cut)).not.toThrow();
    }
    for (let round = 0; round < 2000; round++) {
      const len = Math.floor(rand() * 80);
      const bytes = Buffer.alloc(len);
      for (let i = 0; i < len; i++) bytes[i] = Math.floor(rand() * 256);
      expect(() => parseCommand(bytes)).not.toThrow();
    }
  });
});
