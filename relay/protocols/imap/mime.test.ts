import { describe, expect, it } from 'vitest';
import { encodeValue } from './encoder.ts';
import type { Value } from './encoder.ts';
import { parseMime } from './mime.ts';
import { ParsedMessage } from './sections.ts';
import { bodyStructure, envelope, parseAddresses } from './structure.ts';
import { bodyText, decodeHeader } from './text.ts';
import type { Section } from './ast.ts';

const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');

const INNER = crlf(`From: Inner <inner@example.org>
Subject: =?UTF-8?B?w5xiZXI=?= inner
Content-Type: multipart/alternative; boundary=in

--in
Content-Type: text/plain

inner text
--in
Content-Type: text/html

<p>inner html</p>
--in--
`);

const MESSAGE = crlf(`Date: Mon, 7 Feb 1994 21:52:25 -0800
From: "Fred Foobar" <foobar@Blurdybloop.example>, Group: a@b.example, "Q, R" <q@r.example>;
Subject: =?iso-8859-1?Q?caf=E9?= time
To: mooch@owatagu.siam.edu.example
Message-ID: <B27397-0100000@Blurdybloop.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer b"

preamble
--outer b
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 soon=
 tonight
--outer b
Content-Type: multipart/alternative; boundary=alt

--alt
Content-Type: text/plain; charset=utf-8

plain part
--alt
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64
Content-Disposition: inline

PGI+SGVsbG8gJmFtcDsgd2VsY29tZTwvYj4=
--alt--
--outer b
Content-Type: message/rfc822
Content-Description: forwarded

${INNER}
--outer b
Content-Type: application/pdf; name="a.pdf"
Content-Disposition: attachment; filename="a.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--outer b--
epilogue
`);

function enc(v: Value): string {
  const out: (string | Buffer)[] = [];
  encodeValue(v, out);
  return out.map((p) => (typeof p === 'string' ? p : p.toString('latin1'))).join('');
}

const sec = (part: number[], text: Section['text'] = null, fields: string[] = []): Section => ({ part, text, fields });

describe('MIME tree and sections', () => {
  const raw = Buffer.from(MESSAGE, 'latin1');
  const m = new ParsedMessage(raw);

  it('finds the parts and their types', () => {
    const root = m.mime;
    expect([root.type, root.subtype]).toEqual(['multipart', 'mixed']);
    expect(root.children.map((c) => `${c.type}/${c.subtype}`)).toEqual(['text/plain', 'multipart/alternative', 'message/rfc822', 'application/pdf']);
    expect(root.children[1]!.children.map((c) => c.subtype)).toEqual(['plain', 'html']);
    expect(root.children[2]!.message?.children.map((c) => c.subtype)).toEqual(['plain', 'html']);
  });

  it('returns every section form', () => {
    const s = (section: Section) => m.section(section).toString('latin1');
    expect(s(sec([]))).toBe(MESSAGE);
    expect(s(sec([], 'HEADER'))).toBe(MESSAGE.slice(0, MESSAGE.indexOf('\r\n\r\n') + 4));
    expect(s(sec([], 'TEXT'))).toBe(MESSAGE.slice(MESSAGE.indexOf('\r\n\r\n') + 4));
    expect(s(sec([], 'HEADER.FIELDS', ['subject', 'TO']))).toBe('Subject: =?iso-8859-1?Q?caf=E9?= time\r\nTo: mooch@owatagu.siam.edu.example\r\n\r\n');
    expect(s(sec([], 'HEADER.FIELDS.NOT', ['From', 'Subject', 'Date', 'Message-ID', 'MIME-Version', 'Content-Type']))).toBe(
      'To: mooch@owatagu.siam.edu.example\r\n\r\n',
    );
    expect(s(sec([1]))).toBe('Caf=E9 soon=\r\n tonight');
    expect(s(sec([1], 'MIME'))).toBe('Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n');
    expect(s(sec([2, 1]))).toBe('plain part');
    expect(s(sec([2, 2]))).toBe('PGI+SGVsbG8gJmFtcDsgd2VsY29tZTwvYj4=');
    expect(s(sec([3]))).toBe(INNER);
    expect(s(sec([3], 'HEADER'))).toBe(INNER.slice(0, INNER.indexOf('\r\n\r\n') + 4));
    expect(s(sec([3], 'TEXT'))).toBe(INNER.slice(INNER.indexOf('\r\n\r\n') + 4));
    expect(s(sec([3], 'HEADER.FIELDS', ['From']))).toBe('From: Inner <inner@example.org>\r\n\r\n');
    expect(s(sec([3, 1]))).toBe('inner text');
    expect(s(sec([3, 2], 'MIME'))).toBe('Content-Type: text/html\r\n\r\n');
    expect(s(sec([4]))).toBe('JVBERi0xLjQK');
    // Parts that do not exist are empty.
    expect(s(sec([5]))).toBe('');
    expect(s(sec([1, 1]))).toBe('');
    expect(s(sec([1], 'HEADER'))).toBe('');
  });

  it('numbers the body of a single-part message as part 1', () => {
    const single = new ParsedMessage(Buffer.from('Subject: x\r\n\r\nhello\r\n'));
    expect(single.section(sec([1])).toString()).toBe('hello\r\n');
    expect(single.section(sec([1], 'MIME')).toString()).toBe('Subject: x\r\n\r\n');
    expect(single.section(sec([2])).toString()).toBe('');
  });

  it('builds BODYSTRUCTURE and BODY', () => {
    const bs = enc(bodyStructure(raw, m.mime, true));
    expect(bs).toContain('("text" "plain" ("charset" "iso-8859-1") NIL NIL "QUOTED-PRINTABLE" 22 2 NIL NIL NIL NIL)');
    expect(bs).toContain('("text" "html" ("charset" "utf-8") NIL NIL "BASE64" 36 1 NIL ("inline" NIL) NIL NIL) "alternative"');
    expect(bs).toContain('("message" "rfc822" NIL NIL "forwarded" "7BIT" ');
    expect(bs).toContain('("application" "pdf" ("name" "a.pdf") NIL NIL "BASE64" 12 NIL ("attachment" ("filename" "a.pdf")) NIL NIL)');
    expect(bs.endsWith(' "mixed" ("boundary" "outer b") NIL NIL NIL)')).toBe(true);
    const body = enc(bodyStructure(raw, m.mime, false));
    expect(body).toContain('("text" "plain" ("charset" "iso-8859-1") NIL NIL "QUOTED-PRINTABLE" 22 2)');
    expect(body.endsWith(' "mixed")')).toBe(true);
    // The enclosed message: envelope, its own structure, and line count.
    expect(bs).toContain('(("Inner" NIL "inner" "example.org"))');
  });

  it('builds ENVELOPE with groups, quoted names and encoded words kept as sent', () => {
    expect(enc(envelope(m.top.fields))).toBe(
      '("Mon, 7 Feb 1994 21:52:25 -0800" "=?iso-8859-1?Q?caf=E9?= time" ' +
        '(("Fred Foobar" NIL "foobar" "Blurdybloop.example")(NIL NIL "Group" NIL)(NIL NIL "a" "b.example")("Q, R" NIL "q" "r.example")(NIL NIL NIL NIL)) ' +
        '(("Fred Foobar" NIL "foobar" "Blurdybloop.example")(NIL NIL "Group" NIL)(NIL NIL "a" "b.example")("Q, R" NIL "q" "r.example")(NIL NIL NIL NIL)) ' +
        '(("Fred Foobar" NIL "foobar" "Blurdybloop.example")(NIL NIL "Group" NIL)(NIL NIL "a" "b.example")("Q, R" NIL "q" "r.example")(NIL NIL NIL NIL)) ' +
        '((NIL NIL "mooch" "owatagu.siam.edu.example")) NIL NIL NIL "<B27397-0100000@Blurdybloop.example>")',
    );
    expect(enc(envelope(parseMime(Buffer.from('\r\nbody')).headers))).toBe('(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)');
  });

  it('parses awkward addresses', () => {
    expect(parseAddresses('undisclosed-recipients:;')).toEqual([
      { name: null, adl: null, mailbox: 'undisclosed-recipients', host: null },
      { name: null, adl: null, mailbox: null, host: null },
    ]);
    expect(parseAddresses('a@b (Comment), <@r1,@r2:c@d>, Name <e@f')).toEqual([
      { name: null, adl: null, mailbox: 'a', host: 'b' },
      { name: null, adl: '@r1,@r2', mailbox: 'c', host: 'd' },
      { name: 'Name', adl: null, mailbox: 'e', host: 'f' },
    ]);
    expect(parseAddresses('')).toEqual([]);
    // The quick paths for common shapes agree with the general parser (a trailing comma forces it).
    for (const v of ['a@b.example', 'Fred <f@b.example>', '"Doe, J." <j@d.example>', '<x@y.example>', '=?UTF-8?B?w5w=?= <u@v.example>', '"q\\"t" <q@t.example>', 'J. R. Doe <jrd@x.example>']) {
      expect(parseAddresses(v)).toEqual(parseAddresses(`${v},`));
    }
  });

  it('decodes headers and bodies for search', () => {
    expect(decodeHeader('=?iso-8859-1?Q?caf=E9?= =?UTF-8?B?w5xiZXI=?= x')).toBe('caféÜber x');
    expect(decodeHeader(Buffer.from('Grüße', 'utf8').toString('latin1'))).toBe('Grüße');
    const text = bodyText(raw, m.mime);
    expect(text).toContain('Café soon tonight');
    expect(text).toContain('Hello & welcome');
    expect(text).toContain('Über inner');
    expect(text).toContain('inner html');
    expect(text).not.toContain('<b>');
  });

  it('tolerates malformed mail', () => {
    const cases = [
      'Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nnever closed',
      'Content-Type: multipart/mixed\r\n\r\nno boundary at all',
      'Content-Type: multipart/mixed; boundary=x\r\n\r\nno delimiter',
      'Subject: no blank line',
      'Content-Type: text/plain\n\nbare LF only\n',
      'Content-Type: message/rfc822\r\n\r\n',
      '',
      ':\r\n \r\n\r\n',
    ];
    for (const c of cases) {
      const p = new ParsedMessage(Buffer.from(c));
      expect(() => enc(bodyStructure(p.raw, p.mime, true))).not.toThrow();
      expect(() => enc(envelope(p.top.fields))).not.toThrow();
      expect(() => p.section(sec([1, 2], 'HEADER'))).not.toThrow();
    }
    const open = new ParsedMessage(Buffer.from(cases[0]!));
    expect(open.section(sec([1])).toString()).toBe('never closed');
    expect(new ParsedMessage(Buffer.from(cases[1]!)).mime.type).toBe('text');
  });

  it('bounds nesting', () => {
    let nested = 'Content-Type: text/plain\r\n\r\ndeep\r\n';
    for (let i = 0; i < 200; i++) nested = `Content-Type: message/rfc822\r\n\r\n${nested}`;
    const p = new ParsedMessage(Buffer.from(nested));
    expect(() => enc(bodyStructure(p.raw, p.mime, true))).not.toThrow();
    let many = 'Content-Type: multipart/mixed; boundary=b\r\n\r\n';
    for (let i = 0; i < 5000; i++) many += '--b\r\n\r\nx\r\n';
    const q = new ParsedMessage(Buffer.from(many));
    expect(q.mime.children.length).toBeLessThanOrEqual(2000);
  });

  it('never throws on random bytes', () => {
    let a = 1234;
    const rand = () => {
      a = (a * 1103515245 + 12345) & 0x7fffffff;
      return a / 0x7fffffff;
    };
    const pieces = ['--b', '\r\n', 'Content-Type: multipart/mixed; boundary=b', 'Content-Type: message/rfc822', ': ', '\r\n\r\n', 'x', '=?utf-8?q?a?='];
    for (let round = 0; round < 500; round++) {
      let s = '';
      const n = Math.floor(rand() * 30);
      for (let i = 0; i < n; i++) s += rand() < 0.8 ? pieces[Math.floor(rand() * pieces.length)] : String.fromCharCode(Math.floor(rand() * 256));
      const p = new ParsedMessage(Buffer.from(s, 'latin1'));
      enc(bodyStructure(p.raw, p.mime, true));
      enc(envelope(p.top.fields));
      bodyText(p.raw, p.mime);
      p.section(sec([1, 1]));
      p.section(sec([2], 'TEXT'));
    }
  });
});
