// FETCH planning over a real (in-memory SQLite) store: what each item makes the server read, and
// that header items come out byte for byte the same from a header block as from the whole message.
// Also the response writer's encoding and how it hands its bytes over.
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../core/ports.ts';
import { openSqliteStore } from '../../store/sqlite/store.ts';
import { ResponseWriter, encodeValue, quoted } from './encoder.ts';
import { Run, atom } from './encoder.ts';
import { dispatch } from './registry.ts';
import { createRegistry } from './server.ts';
import { Session } from './session.ts';
import type { SessionDeps, SessionIo } from './session.ts';
import { MailboxView } from './tracker.ts';

const MESSAGES = [
  'From: "Fred, F." <fred@example.org>\r\nTo: a@x.test, Group: b@y.test;\r\nSubject: =?UTF-8?B?w5xiZXI=?= caf\xe9\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n' +
    'Message-ID: <1@example.org>\r\nX-Folded: one\r\n two\r\n\r\nbody\r\n\r\nFrom: not a header\r\n',
  'Subject: bare LF\nFrom: lf@example.org\n\nbody\n',
  'Subject: no body at all\r\nFrom: nobody@example.org\r\n',
  '\r\nno header\r\n',
  `Subject: ${'long '.repeat(300)}\r\nSender: "Quote \\" and \\\\" <s@x.test>\r\n\r\n${'x'.repeat(40_000)}\r\n`,
];

interface Counted {
  store: Store;
  calls: { raws: number; headers: number };
}

/** The store, counting how often whole messages and header blocks are read. */
function counting(store: Store): Counted {
  const calls = { raws: 0, headers: 0 };
  const wrapped = Object.create(store) as Store;
  wrapped.getRaws = (scope, ids) => {
    calls.raws++;
    return store.getRaws(scope, ids);
  };
  wrapped.getHeaders = (scope, ids) => {
    calls.headers++;
    return store.getHeaders(scope, ids);
  };
  return { store: wrapped, calls };
}

/** A selected INBOX holding MESSAGES over an in-memory store; `run` gives a command's untagged output. */
async function selectedMailbox() {
  const store = await openSqliteStore(':memory:');
  const user = await store.createUser('alice', new Date(0));
  const alias = await store.createAlias({ userId: user.id, address: 'a@wisp.test', site: null, label: null, createdAt: new Date(0), expiresAt: null });
  await store.saveMessages(
    MESSAGES.map((m, i) => ({
      userId: user.id,
      aliasId: alias.id,
      receivedAt: new Date(1_000_000 + i),
      raw: Buffer.from(m, 'latin1'),
      mailFrom: '',
      from: '',
      subject: '',
      preview: '',
      code: null,
      link: null,
    })),
  );
  const counted = counting(store);
  let written: Buffer[] = [];
  const io = {
    write: (parts: (string | Buffer)[]) => {
      for (const p of parts) written.push(typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p));
    },
    flush: async () => {},
    readLine: async () => null,
    beginTls: () => async () => {},
    close: () => {},
    authenticated: () => {},
    secure: false,
    loopback: true,
    remoteAddress: '127.0.0.1',
    id: 'test',
  } satisfies SessionIo;
  const deps = { store: counted.store, register: () => () => {} } as unknown as SessionDeps;
  const session = new Session(deps, io);
  session.login = { user, alias: null };
  session.state = 'selected';
  const scope = { userId: user.id };
  session.selected = {
    ref: { name: 'INBOX', scope, uidValidity: user.id, alias: null, selectable: true },
    readOnly: true,
    view: new MailboxView(await store.listMailbox(scope)),
  };
  const registry = createRegistry();
  /** The untagged responses of one command, as bytes, and what it read. */
  const run = async (command: string) => {
    written = [];
    counted.calls.raws = counted.calls.headers = 0;
    await dispatch(registry, session, Buffer.from(`T ${command}`), (err) => {
      throw err;
    });
    const all = Buffer.concat(written).toString('latin1');
    expect(all).toMatch(/T OK [^\r\n]*\r\n$/);
    return { text: all.slice(0, all.lastIndexOf('T OK')), ...counted.calls };
  };
  return { run, close: () => store.close() };
}

describe('FETCH reads no more than its items need', () => {
  const open: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((close) => close()));
  });
  async function selected() {
    const mailbox = await selectedMailbox();
    open.push(mailbox.close);
    return mailbox;
  }

  it('reads nothing for UID, FLAGS, INTERNALDATE and RFC822.SIZE', async () => {
    const { run } = await selected();
    const got = await run('FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)');
    expect(got).toMatchObject({ raws: 0, headers: 0 });
    expect(got.text.split('\r\n')[0]).toBe('* 1 FETCH (UID 1 FLAGS () INTERNALDATE " 1-Jan-1970 00:16:40 +0000" RFC822.SIZE 223)');
  });

  it('reads header blocks alone for ENVELOPE and header sections, with the same bytes as from the whole message', async () => {
    const { run } = await selected();
    const items = [
      'ENVELOPE',
      'RFC822.HEADER',
      'BODY.PEEK[HEADER]',
      'BODY.PEEK[HEADER.FIELDS (From Subject X-Folded)]',
      'BODY.PEEK[HEADER.FIELDS.NOT (Received)]<5.20>',
    ].join(' ');
    const headerOnly = await run(`UID FETCH 1:* (UID ${items})`);
    expect(headerOnly).toMatchObject({ raws: 0, headers: 1 });
    // Add an item that needs the body: the whole message is read, and the header items agree.
    const whole = await run(`UID FETCH 1:* (UID ${items} BODY.PEEK[TEXT])`);
    expect(whole).toMatchObject({ raws: 1, headers: 0 });
    const strip = (text: string) => {
      // Drop each " BODY[TEXT] {n}\r\n<n bytes>" so that only the header items remain.
      let out = '';
      let at = 0;
      for (;;) {
        const i = text.indexOf(' BODY[TEXT] {', at);
        if (i === -1) return out + text.slice(at);
        const close = text.indexOf('}\r\n', i);
        const n = Number(text.slice(i + 13, close));
        out += text.slice(at, i);
        at = close + 3 + n;
      }
    };
    expect(strip(whole.text)).toBe(headerOnly.text);
    expect(headerOnly.text).toContain('ENVELOPE ("Mon, 7 Feb 1994 21:52:25 -0800" {25}\r\n=?UTF-8?B?w5xiZXI=?= caf\xe9 ((');
    expect(headerOnly.text).toContain('BODY[HEADER.FIELDS (From Subject X-Folded)] {96}\r\n');
    expect(headerOnly.text).toContain('(("Quote \\" and \\\\" NIL "s" "x.test"))');
  });

  it('reads whole messages for a part of the body, BODYSTRUCTURE and a part’s header', async () => {
    const { run } = await selected();
    for (const item of ['BODYSTRUCTURE', 'BODY.PEEK[]', 'BODY.PEEK[1]', 'BODY.PEEK[1.MIME]', 'RFC822.TEXT', 'BODY.PEEK[]<0.10>']) {
      expect(await run(`FETCH 2 (${item})`), item).toMatchObject({ raws: 1, headers: 0 });
    }
  });
});

describe('SEARCH reads no more than its keys need', () => {
  it('reads header blocks for header keys and whole messages for BODY and TEXT', async () => {
    const { run, close } = await selectedMailbox();
    try {
      expect(await run('SEARCH FROM fred SUBJECT über')).toMatchObject({ text: '* SEARCH 1\r\n', raws: 0, headers: 1 });
      expect(await run('SEARCH HEADER X-Folded "one two" SENTON 7-Feb-1994')).toMatchObject({ text: '* SEARCH 1\r\n', raws: 0, headers: 1 });
      expect(await run('SEARCH NOT HEADER From ""')).toMatchObject({ text: '* SEARCH 4 5\r\n', raws: 0, headers: 1 });
      expect(await run('SEARCH BODY "not a header"')).toMatchObject({ text: '* SEARCH 1\r\n', raws: 1, headers: 0 });
      expect(await run('SEARCH LARGER 1000')).toMatchObject({ text: '* SEARCH 5\r\n', raws: 0, headers: 0 });
    } finally {
      await close();
    }
  });
});

describe('response writer', () => {
  const bytes = (w: ResponseWriter) => Buffer.concat(w.take()).toString('latin1');

  it('quotes what it can, escapes quotes and backslashes, and makes the rest literals', () => {
    const w = new ResponseWriter(16);
    w.value(['plain', 'say "hi" \\o/', '', null, 42, atom('\\Seen'), new Run([['a'], ['b']]), 'caf\xe9', 'two\r\nlines', 'x'.repeat(1025), Buffer.from([0, 1])]);
    expect(bytes(w)).toBe(
      `("plain" "say \\"hi\\" \\\\o/" "" NIL 42 \\Seen ("a")("b") {4}\r\ncaf\xe9 {10}\r\ntwo\r\nlines {1025}\r\n${'x'.repeat(1025)} {2}\r\n\0\x01)`,
    );
    expect(quoted('INBOX')).toBe('"INBOX"');
    expect(quoted('a"b')).toBe('"a\\"b"');
    const out: (string | Buffer)[] = [];
    encodeValue(['x', null], out);
    expect(Buffer.concat(out.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))).toString()).toBe('("x" NIL)');
  });

  it('hands over what it wrote in order, passes large literals on uncopied, and never rewrites what it handed over', () => {
    const w = new ResponseWriter(64);
    const big = Buffer.alloc(20_000, 0x61);
    w.text('* 1 FETCH (BODY[] ').literal(Buffer.from('small'));
    const first = w.take();
    w.text(' X').literal(big).text(')\r\n');
    expect(w.size).toBe(2 + 9 + 20_000 + 3);
    const second = w.take();
    expect(second.some((b) => b === big)).toBe(true);
    for (let i = 0; i < 50; i++) w.text(`line ${i}\r\n`);
    const third = w.take();
    expect(Buffer.concat(first).toString()).toBe('* 1 FETCH (BODY[] {5}\r\nsmall');
    expect(Buffer.concat(second).toString()).toBe(` X{20000}\r\n${'a'.repeat(20_000)})\r\n`);
    expect(Buffer.concat(third).toString()).toBe(Array.from({ length: 50 }, (_, i) => `line ${i}\r\n`).join(''));
    expect(w.take()).toEqual([]);
    expect(w.size).toBe(0);
    // Reset: what was written is handed over, and writing starts afresh.
    w.text('partial');
    expect(Buffer.concat(w.reset()).toString()).toBe('partial');
    expect(Buffer.concat(w.text('again').take()).toString()).toBe('again');
  });
});
