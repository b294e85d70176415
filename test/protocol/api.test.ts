// The HTTP API (INTERFACE.md §2) over a real socket: aliases, messages, paging, sanitizing,
// isolation between users, authentication, errors, health and metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alias, MessageDetail, Summary } from '../../shared/api.ts';
import {
  ALIAS_KEYS,
  DETAIL_EXTRA_KEYS,
  ISO_UTC,
  SUMMARY_KEYS,
  addUser,
  allAliases,
  allMessages,
  api,
  apiOk,
  createAlias,
  enc,
  sendMail,
  startRelay,
  uniq,
  waitForSubject,
} from '../support/relay.ts';
import type { ApiResponse, Relay } from '../support/relay.ts';

let relay: Relay;

beforeAll(async () => {
  relay = await startRelay({ args: ['--alias-rate-limit', '100000/1m', '--default-ttl', '1h'] });
});

afterAll(async () => {
  await relay?.stop();
});

/** A 4xx/5xx answer in the documented shape: {"error": "<one sentence>"} and no stack trace. */
function expectError(r: ApiResponse, status: number | number[]): void {
  const want = Array.isArray(status) ? status : [status];
  expect(want, `status ${r.status}: ${r.text.slice(0, 300)}`).toContain(r.status);
  expect(r.json, `error body is not JSON: ${r.text.slice(0, 300)}`).toBe(true);
  const body = r.body as Record<string, unknown>;
  expect(typeof body.error, r.text).toBe('string');
  expect((body.error as string).length).toBeGreaterThan(0);
  expect(r.text).not.toMatch(/\n\s+at |node:internal|\.ts:\d+:\d+/);
}

const secondsBetween = (a: string, b: string) => (Date.parse(b) - Date.parse(a)) / 1000;

const DOT_ATOM = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

describe('aliases', () => {
  it('POST makes an address for a site URL: registrable domain, 201, every field', async () => {
    const before = Date.now();
    const r = await api<Alias>(relay, 'POST', '/api/aliases', { site: 'https://accounts.google.com/x', label: 'Google' });
    expect(r.status, r.text).toBe(201);
    expect(r.headers.get('content-type') ?? '').toMatch(/^application\/json/);
    const a = r.body;
    expect(Object.keys(a).sort()).toEqual(ALIAS_KEYS);
    expect(a.site).toBe('google.com');
    expect(a.label).toBe('Google');
    expect(a.active).toBe(true);
    expect(a.messageCount).toBe(0);
    expect(a.lastMessageAt).toBeNull();
    expect(a.address).toMatch(/^[^@]+@wisp\.localhost$/);
    expect(a.createdAt).toMatch(ISO_UTC);
    expect(Math.abs(Date.parse(a.createdAt) - before)).toBeLessThan(60_000);
    // no ttl: the default (--default-ttl 1h)
    expect(a.expiresAt).toMatch(ISO_UTC);
    expect(secondsBetween(a.createdAt, a.expiresAt!)).toBeCloseTo(3600, -1);
  });

  it.each([
    ['github.com', 'github.com'],
    ['https://www.bbc.co.uk/news/world', 'bbc.co.uk'],
    ['http://shop.example.com:8080/cart?x=1', 'example.com'],
    ['WWW.Example.COM', 'example.com'],
    ['login.live.com', 'live.com'],
  ])('site %s is stored as %s', async (site, want) => {
    expect((await createAlias(relay, { site })).site).toBe(want);
  });

  it('without a site, site is null', async () => {
    const a = await createAlias(relay, {});
    expect(a.site).toBeNull();
    expect(a.label).toBeNull();
  });

  it('ttl: null never expires; a number of seconds sets expiresAt', async () => {
    const forever = await createAlias(relay, { site: 'forever.test', ttl: null });
    expect(forever.expiresAt).toBeNull();
    const short = await createAlias(relay, { site: 'short.test', ttl: 600 });
    expect(secondsBetween(short.createdAt, short.expiresAt!)).toBeCloseTo(600, 0);
  });

  it('local parts are lowercase, valid unquoted, unique, and carry at least 40 random bits', async () => {
    const n = 60;
    const made: Alias[] = [];
    for (let i = 0; i < n; i++) made.push(await createAlias(relay, { site: 'entropy.example.com' }));
    const locals = made.map((a) => a.address.split('@')[0] as string);
    expect(new Set(locals).size).toBe(n);
    for (const l of locals) {
      expect(l).toBe(l.toLowerCase());
      expect(l).toMatch(DOT_ATOM);
      expect(l.length).toBeLessThanOrEqual(64);
    }
    // The varying part: strip what every local part shares at the front and back (a site
    // prefix such as "example." and the like).
    let pre = 0;
    while (locals.every((l) => l[pre] !== undefined && l[pre] === locals[0]![pre])) pre++;
    let suf = 0;
    while (locals.every((l) => l.length - suf - 1 > pre && l[l.length - 1 - suf] === locals[0]![locals[0]!.length - 1 - suf])) suf++;
    const parts = locals.map((l) => l.slice(pre, l.length - suf));
    const minLen = Math.min(...parts.map((p) => p.length));
    const seen = new Set(parts.join(''));
    const alphabets = [
      '0123456789',
      '0123456789abcdef',
      'abcdefghijklmnopqrstuvwxyz234567',
      '0123456789abcdefghjkmnpqrstvwxyz',
      '0123456789abcdefghijklmnopqrstuvwxyz',
    ];
    const alphabet = alphabets.find((abc) => [...seen].every((c) => abc.includes(c)));
    const size = alphabet ? alphabet.length : seen.size;
    const bits = minLen * Math.log2(size);
    expect(bits, `random part e.g. "${parts[0]}": ${minLen} chars of a ${size}-symbol alphabet`).toBeGreaterThanOrEqual(40);
    // every position of the random part must actually vary (no counters or clocks)
    for (let i = 0; i < minLen; i++) {
      const distinct = new Set(parts.map((p) => p[i])).size;
      expect(distinct, `position ${i} of the random part takes only ${distinct} values in ${n} addresses`).toBeGreaterThanOrEqual(Math.min(6, size / 2));
    }
  });

  it('GET /api/aliases lists newest first and pages with limit + cursor, each alias exactly once', async () => {
    const mine: string[] = [];
    for (let i = 0; i < 30; i++) mine.push((await createAlias(relay, { label: `page-${i}` })).address);
    const first = await apiOk<{ aliases: Alias[]; next: string | null }>(relay, 'GET', '/api/aliases');
    expect(first.aliases[0]?.address).toBe(mine[29]);

    const all: Alias[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `limit=25&cursor=${enc(cursor)}` : 'limit=25';
      const page = await apiOk<{ aliases: Alias[]; next: string | null }>(relay, 'GET', `/api/aliases?${q}`);
      expect(page.aliases.length).toBeLessThanOrEqual(25);
      if (page.next !== null) expect(page.aliases.length).toBe(25);
      all.push(...page.aliases);
      cursor = page.next;
      pages++;
    } while (cursor && pages < 100);
    expect(cursor).toBeNull();
    const addrs = all.map((a) => a.address);
    expect(new Set(addrs).size).toBe(addrs.length);
    expect(addrs.length).toBeGreaterThanOrEqual(30);
    // newest first: our thirty in reverse order of creation, createdAt never increasing
    expect(addrs.filter((a) => mine.includes(a))).toEqual([...mine].reverse());
    for (let i = 1; i < all.length; i++) expect(Date.parse(all[i]!.createdAt)).toBeLessThanOrEqual(Date.parse(all[i - 1]!.createdAt));
  });

  it('GET /api/aliases/{address} returns it; an unknown address is 404', async () => {
    const a = await createAlias(relay, { site: 'get.test', label: 'x' });
    expect(await apiOk<Alias>(relay, 'GET', `/api/aliases/${enc(a.address)}`)).toEqual(a);
    expectError(await api(relay, 'GET', `/api/aliases/${enc(`nope${Date.now()}@wisp.localhost`)}`), 404);
  });

  it('PATCH changes label, active and ttl, and answers with the new Alias', async () => {
    const a = await createAlias(relay, { site: 'patch.test', label: 'old' });
    const path = `/api/aliases/${enc(a.address)}`;
    const labelled = await apiOk<Alias>(relay, 'PATCH', path, { label: 'new label' });
    expect(labelled).toEqual({ ...a, label: 'new label' });
    const off = await apiOk<Alias>(relay, 'PATCH', path, { active: false });
    expect(off.active).toBe(false);
    expect((await apiOk<Alias>(relay, 'GET', path)).active).toBe(false);
    const forever = await apiOk<Alias>(relay, 'PATCH', path, { ttl: null });
    expect(forever.expiresAt).toBeNull();
    const now = Date.now();
    const timed = await apiOk<Alias>(relay, 'PATCH', path, { ttl: 120, active: true, label: null });
    expect(timed.active).toBe(true);
    expect(timed.label).toBeNull();
    expect(Math.abs(Date.parse(timed.expiresAt!) - (now + 120_000))).toBeLessThan(5_000);
    expect(await apiOk<Alias>(relay, 'GET', path)).toEqual(timed);
  });

  it('PATCH gives a site to an address made without one, once', async () => {
    const spare = await createAlias(relay, {});
    expect(spare.site).toBeNull();
    const path = `/api/aliases/${enc(spare.address)}`;
    expect((await apiOk<Alias>(relay, 'PATCH', path, { site: 'https://login.shop.example.com/join' })).site).toBe('example.com');
    expectError(await api(relay, 'PATCH', path, { site: 'other.example.org' }), 409);
    expectError(await api(relay, 'PATCH', path, { site: 'not a site' }), 400);
    expect((await apiOk<Alias>(relay, 'GET', path)).site).toBe('example.com');
  });

  it('DELETE removes the alias (204) and its mail', async () => {
    const a = await createAlias(relay, { site: 'delete.test' });
    const subject = `to be deleted ${uniq()}`;
    await sendMail(relay, { to: a.address, subject, text: 'bye' });
    const m = await waitForSubject(relay, subject);
    const r = await api(relay, 'DELETE', `/api/aliases/${enc(a.address)}`);
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expectError(await api(relay, 'GET', `/api/aliases/${enc(a.address)}`), 404);
    expectError(await api(relay, 'GET', `/api/messages/${enc(m.id)}`), 404);
    expectError(await api(relay, 'GET', `/api/messages/${enc(m.id)}/raw`), 404);
    expect((await allMessages(relay)).map((x) => x.id)).not.toContain(m.id);
    expectError(await api(relay, 'DELETE', `/api/aliases/${enc(a.address)}`), 404);
  });

  it('bad input gets a 4xx JSON error', async () => {
    const cases: [string, string, unknown][] = [
      ['POST', '/api/aliases', { ttl: 'abc' }],
      ['POST', '/api/aliases', { ttl: -5 }],
      ['POST', '/api/aliases', { site: 42 }],
      ['POST', '/api/aliases', { label: { nested: true } }],
      ['POST', '/api/aliases', '{"site": "x.com",'],
      ['POST', '/api/aliases', '[1,2,3]'],
    ];
    for (const [method, path, body] of cases) {
      const r = await api(relay, method, path, body);
      expect(r.status, `${method} ${path} ${JSON.stringify(body)} → ${r.status} ${r.text}`).toBeGreaterThanOrEqual(400);
      expectError(r, [400, 422]);
    }
    const a = await createAlias(relay, { site: 'bad-patch.test' });
    for (const body of [{ active: 'yes' }, { ttl: 'soon' }, '{not json']) {
      const r = await api(relay, 'PATCH', `/api/aliases/${enc(a.address)}`, body);
      expectError(r, [400, 422]);
    }
    // the alias is untouched by the refused requests
    expect(await apiOk<Alias>(relay, 'GET', `/api/aliases/${enc(a.address)}`)).toEqual(a);
    expectError(await api(relay, 'GET', '/api/aliases?limit=abc'), [400, 422]);
    expectError(await api(relay, 'GET', '/api/aliases?cursor=%%%garbage'), [400, 422]);
  });

  it('a request body over the limit gets a 4xx JSON error (413), not a reset connection', async () => {
    let r: ApiResponse;
    try {
      r = await api(relay, 'POST', '/api/aliases', { label: 'x'.repeat(1024 * 1024) });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? String(e);
      throw new Error(`no HTTP response to a 1 MB body: the connection was dropped (${cause})`, { cause: e });
    }
    expectError(r, [400, 413, 422]);
    expect((await api(relay, 'GET', '/healthz')).status).toBe(200);
  });
});

describe('messages', () => {
  let box: Alias;

  beforeAll(async () => {
    box = await createAlias(relay, { site: 'messages.test', ttl: null });
  });

  it('list, detail, raw, PATCH seen, DELETE', async () => {
    const subject = `full cycle ${uniq()}`;
    const messageId = `<${uniq('cycle')}@example.com>`;
    const pdf = Buffer.from('%PDF-1.4\n' + 'z'.repeat(3000) + '\n%%EOF\n');
    await sendMail(relay, {
      from: 'Shop <orders@shop.example>',
      to: box.address,
      subject,
      messageId,
      text: 'Your confirmation code is 993311.',
      attachments: [{ filename: 'receipt.pdf', content: pdf, contentType: 'application/pdf' }],
    });
    const list = await allMessages(relay, { alias: box.address });
    const s = list.find((m) => m.subject === subject)!;
    expect(s).toBeDefined();
    expect(Object.keys(s).sort()).toEqual(SUMMARY_KEYS);
    expect(s.alias).toBe(box.address);
    expect(s.site).toBe('messages.test');
    expect(s.code).toBe('993311');
    expect(s.seen).toBe(false);
    expect(s.size).toBeGreaterThan(pdf.length);

    const d = await apiOk<MessageDetail>(relay, 'GET', `/api/messages/${enc(s.id)}`);
    expect(Object.keys(d).sort()).toEqual([...SUMMARY_KEYS, ...DETAIL_EXTRA_KEYS].sort());
    const { text, html, headers, attachments, ...summaryPart } = d;
    expect(summaryPart).toEqual(s);
    expect(text).toContain('993311');
    expect(html === null || typeof html === 'string').toBe(true);
    expect(typeof headers).toBe('object');
    expect(attachments).toEqual([{ filename: 'receipt.pdf', contentType: 'application/pdf', size: pdf.length }]);

    const raw = await api(relay, 'GET', `/api/messages/${enc(s.id)}/raw`);
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type') ?? '').toMatch(/^message\/rfc822/);
    expect(raw.text).toContain(messageId);
    expect(raw.text).toContain('receipt.pdf');

    const seen = await api(relay, 'PATCH', `/api/messages/${enc(s.id)}`, { seen: true });
    expect([200, 204]).toContain(seen.status);
    expect((await apiOk<MessageDetail>(relay, 'GET', `/api/messages/${enc(s.id)}`)).seen).toBe(true);
    expect((await allMessages(relay, { alias: box.address })).find((m) => m.id === s.id)?.seen).toBe(true);
    await api(relay, 'PATCH', `/api/messages/${enc(s.id)}`, { seen: false });
    expect((await apiOk<MessageDetail>(relay, 'GET', `/api/messages/${enc(s.id)}`)).seen).toBe(false);
    expectError(await api(relay, 'PATCH', `/api/messages/${enc(s.id)}`, { seen: 'yes' }), [400, 422]);

    const countBefore = (await apiOk<Alias>(relay, 'GET', `/api/aliases/${enc(box.address)}`)).messageCount;
    const del = await api(relay, 'DELETE', `/api/messages/${enc(s.id)}`);
    expect(del.status).toBe(204);
    expectError(await api(relay, 'GET', `/api/messages/${enc(s.id)}`), 404);
    expectError(await api(relay, 'GET', `/api/messages/${enc(s.id)}/raw`), 404);
    expectError(await api(relay, 'PATCH', `/api/messages/${enc(s.id)}`, { seen: true }), 404);
    expectError(await api(relay, 'DELETE', `/api/messages/${enc(s.id)}`), 404);
    expect((await allMessages(relay, { alias: box.address })).map((m) => m.id)).not.toContain(s.id);
    expect((await apiOk<Alias>(relay, 'GET', `/api/aliases/${enc(box.address)}`)).messageCount).toBe(countBefore - 1);
  });

  it('a summary never carries the body, however long it is', async () => {
    const subject = `long body ${uniq()}`;
    const marker = `ENDMARKER${Date.now()}`;
    const body = 'Lorem ipsum dolor sit amet. '.repeat(800) + marker;
    await sendMail(relay, { to: box.address, subject, text: body, html: `<p>${body}</p>` });
    const s = await waitForSubject(relay, subject);
    expect(Object.keys(s).sort()).toEqual(SUMMARY_KEYS);
    expect(s.preview.length).toBeGreaterThan(0);
    expect(s.preview.length).toBeLessThanOrEqual(1000);
    const listText = (await api(relay, 'GET', `/api/messages?alias=${enc(box.address)}`)).text;
    expect(listText).not.toContain(marker);
    const d = await apiOk<MessageDetail>(relay, 'GET', `/api/messages/${enc(s.id)}`);
    expect(d.text).toContain(marker);
  });

  it('detail html is sanitized: no script, no event handlers, no remote loads', async () => {
    const subject = `html ${uniq()}`;
    const html = [
      '<html><head><script>alert("head")</script><link rel="stylesheet" href="https://evil.example/x.css"></head><body>',
      '<p>Visible greeting text</p>',
      '<script>document.cookie</script>',
      '<img src="x" onerror="alert(1)">',
      '<img src="https://tracker.example/pixel.gif" width="1" height="1">',
      '<div style="background-image:url(https://tracker.example/bg.png)">styled</div>',
      '<a href="javascript:alert(2)">js link</a>',
      '<iframe src="https://evil.example/frame"></iframe>',
      '<a href="https://good.example/page">a real link</a>',
      '<svg onload="alert(3)"></svg>',
      '</body></html>',
    ].join('\n');
    await sendMail(relay, { to: box.address, subject, html, text: 'fallback' });
    const s = await waitForSubject(relay, subject);
    const d = await apiOk<MessageDetail>(relay, 'GET', `/api/messages/${enc(s.id)}`);
    expect(d.html).not.toBeNull();
    const out = d.html!;
    expect(out).toContain('Visible greeting text');
    expect(out).not.toMatch(/<script/i);
    expect(out).not.toContain('document.cookie');
    expect(out).not.toMatch(/\son\w+\s*=/i);
    expect(out).not.toMatch(/javascript:/i);
    expect(out).not.toMatch(/<iframe/i);
    expect(out).not.toMatch(/<link/i);
    // nothing that a browser would fetch by itself
    // (an inert data-* attribute may keep the address for a "load remote content" button)
    expect(out).not.toMatch(/(?<![\w-])(src|background|poster)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(out).not.toMatch(/url\(\s*['"]?\s*(https?:)?\/\//i);
    expect(out).not.toMatch(/(?<![\w-])srcset\s*=/i);
    expect(out.replace(/\sdata-[\w-]+\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/g, '')).not.toMatch(/tracker\.example|evil\.example/);
  });

  it('inline styles cannot load remote content either (image-set(), CSS escapes, any case)', async () => {
    const subject = `css ${uniq()}`;
    const html = [
      '<p>Styled mail</p>',
      '<div style="background:URL(https://tracker.example/upper.png)">upper</div>',
      '<div style="background-image: image-set(&quot;https://tracker.example/set.png&quot; 1x)">image-set</div>',
      `<p style="list-style-image: -webkit-image-set('https://tracker.example/webkit.png' 1x)">webkit</p>`,
      '<div style="background-image: u\\72l(https://tracker.example/escaped.png)">escaped</div>',
      '<table background="https://tracker.example/table.png"><tr><td>cell</td></tr></table>',
    ].join('\n');
    await sendMail(relay, { to: box.address, subject, html, text: 'fallback' });
    const s = await waitForSubject(relay, subject);
    const d = await apiOk<MessageDetail>(relay, 'GET', `/api/messages/${enc(s.id)}`);
    expect(d.html).toContain('Styled mail');
    // whatever a viewer may restore on request sits in data-* attributes; nothing else may name the tracker
    const live = d.html!.replace(/\sdata-[\w-]+\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/g, '');
    expect(live).not.toContain('tracker.example');
  });

  it('pages through 25 messages with limit=10: 10, 10, 5, newest first, each exactly once', async () => {
    const pager = await createAlias(relay, { site: 'pager.test', ttl: null });
    const subjects: string[] = [];
    for (let i = 0; i < 25; i++) {
      const subject = `page ${String(i).padStart(2, '0')} ${uniq()}`;
      subjects.push(subject);
      await sendMail(relay, { to: pager.address, subject, text: `message ${i}` });
    }
    const pages: Summary[][] = [];
    let cursor: string | null = null;
    do {
      const q = new URLSearchParams({ alias: pager.address, limit: '10', ...(cursor ? { cursor } : {}) });
      const r: { messages: Summary[]; next: string | null } = await apiOk(relay, 'GET', `/api/messages?${q}`);
      pages.push(r.messages);
      cursor = r.next;
    } while (cursor && pages.length < 10);
    expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
    const got = pages.flat();
    expect(new Set(got.map((m) => m.id)).size).toBe(25);
    expect(got.map((m) => m.subject)).toEqual([...subjects].reverse());
    expect(got.every((m) => m.alias === pager.address)).toBe(true);
    expect((await apiOk<Alias>(relay, 'GET', `/api/aliases/${enc(pager.address)}`)).messageCount).toBe(25);
  });

  it('a cursor stays valid while new mail arrives: the remaining pages hold exactly the older messages', async () => {
    const pager = await createAlias(relay, { site: 'pager-live.test', ttl: null });
    const subjects: string[] = [];
    for (let i = 0; i < 15; i++) {
      const subject = `live page ${String(i).padStart(2, '0')} ${uniq()}`;
      subjects.push(subject);
      await sendMail(relay, { to: pager.address, subject, text: `message ${i}` });
    }
    const first: { messages: Summary[]; next: string | null } = await apiOk(relay, 'GET', `/api/messages?alias=${enc(pager.address)}&limit=5`);
    expect(first.messages.map((m) => m.subject)).toEqual(subjects.slice(10).reverse());
    expect(first.next).not.toBeNull();
    // three newer messages arrive (and one listed one is deleted) between page requests
    for (let i = 0; i < 3; i++) await sendMail(relay, { to: pager.address, subject: `newer ${i} ${uniq()}`, text: 'new' });
    const gone = first.messages[2]!;
    expect((await api(relay, 'DELETE', `/api/messages/${enc(gone.id)}`)).status).toBe(204);
    const rest: Summary[] = [];
    let cursor: string | null = first.next;
    for (let n = 0; cursor && n < 10; n++) {
      const r: { messages: Summary[]; next: string | null } = await apiOk(relay, 'GET', `/api/messages?alias=${enc(pager.address)}&limit=5&cursor=${enc(cursor)}`);
      rest.push(...r.messages);
      cursor = r.next;
    }
    expect(rest.map((m) => m.subject)).toEqual(subjects.slice(0, 10).reverse());
  });

  it('30 addresses made at once are all made, and all different', async () => {
    const made = await Promise.all(Array.from({ length: 30 }, (_, i) => api<Alias>(relay, 'POST', '/api/aliases', { site: 'parallel.test', label: `p${i}` })));
    expect(made.map((r) => r.status)).toEqual(Array(30).fill(201));
    expect(new Set(made.map((r) => r.body.address)).size).toBe(30);
  });

  it('filters by alias and by since', async () => {
    const a = await createAlias(relay, { site: 'filter-a.test' });
    const b = await createAlias(relay, { site: 'filter-b.test' });
    const s1 = `filter one ${uniq()}`;
    await sendMail(relay, { to: a.address, subject: s1, text: 'one' });
    const first = await waitForSubject(relay, s1);
    // a moment strictly after the first message was stored
    while (Date.now() <= Date.parse(first.receivedAt) + 5) await new Promise((r) => setTimeout(r, 5));
    const between = new Date().toISOString();
    const s2 = `filter two ${uniq()}`;
    await sendMail(relay, { to: b.address, subject: s2, text: 'two' });
    await waitForSubject(relay, s2);

    expect((await allMessages(relay, { alias: a.address })).map((m) => m.subject)).toEqual([s1]);
    expect((await allMessages(relay, { alias: b.address })).map((m) => m.subject)).toEqual([s2]);
    const since = await allMessages(relay, { since: between });
    expect(since.map((m) => m.subject)).toEqual([s2]);
    expect(await allMessages(relay, { since: new Date(Date.now() + 3_600_000).toISOString() })).toEqual([]);
    expectError(await api(relay, 'GET', '/api/messages?since=yesterday-ish'), [400, 422]);
    expectError(await api(relay, 'GET', '/api/messages?limit=abc'), [400, 422]);
    expectError(await api(relay, 'GET', '/api/messages?cursor=%%%garbage'), [400, 422]);
  });

  it('an unknown message id is 404', async () => {
    expectError(await api(relay, 'GET', '/api/messages/999999999'), 404);
    expectError(await api(relay, 'GET', '/api/messages/not-an-id'), [400, 404]);
    expectError(await api(relay, 'GET', '/api/messages/999999999/raw'), 404);
  });
});

describe('users are isolated', () => {
  it('user B cannot see, change or delete user A’s addresses or mail (404), and A keeps them', async () => {
    const tokenB = await addUser(relay, `bob${Date.now()}`);
    const a = await createAlias(relay, { site: 'private.test', ttl: null });
    const subject = `private ${uniq()}`;
    await sendMail(relay, { to: a.address, subject, text: 'A only: 424242' });
    const m = await waitForSubject(relay, subject);

    const listB = await apiOk<{ aliases: Alias[] }>(relay, 'GET', '/api/aliases', undefined, 200, tokenB);
    expect(listB.aliases).toEqual([]);
    expect(await allMessages(relay, {}, tokenB)).toEqual([]);
    const filtered = await api<{ messages: Summary[] }>(relay, 'GET', `/api/messages?alias=${enc(a.address)}`, undefined, tokenB);
    if (filtered.status === 200) expect(filtered.body.messages).toEqual([]);
    else expectError(filtered, 404);

    const ap = `/api/aliases/${enc(a.address)}`;
    const mp = `/api/messages/${enc(m.id)}`;
    expectError(await api(relay, 'GET', ap, undefined, tokenB), 404);
    expectError(await api(relay, 'PATCH', ap, { label: 'mine now', active: false }, tokenB), 404);
    expectError(await api(relay, 'DELETE', ap, undefined, tokenB), 404);
    expectError(await api(relay, 'GET', mp, undefined, tokenB), 404);
    expectError(await api(relay, 'GET', `${mp}/raw`, undefined, tokenB), 404);
    expectError(await api(relay, 'PATCH', mp, { seen: true }, tokenB), 404);
    expectError(await api(relay, 'DELETE', mp, undefined, tokenB), 404);

    // B's own alias does not make A's visible either
    const bAlias = await createAlias(relay, { site: 'bob.test' }, tokenB);
    expect((await apiOk<{ aliases: Alias[] }>(relay, 'GET', '/api/aliases', undefined, 200, tokenB)).aliases.map((x) => x.address)).toEqual([
      bAlias.address,
    ]);
    expect((await apiOk<{ aliases: Alias[] }>(relay, 'GET', '/api/aliases')).aliases.map((x) => x.address)).not.toContain(bAlias.address);

    const stillA = await apiOk<Alias>(relay, 'GET', ap);
    expect(stillA.label).toBeNull();
    expect(stillA.active).toBe(true);
    const stillM = await apiOk<MessageDetail>(relay, 'GET', mp);
    expect(stillM.seen).toBe(false);
  });
});

describe('authentication and errors', () => {
  const routes: [string, string, unknown?][] = [
    ['GET', '/api/aliases'],
    ['POST', '/api/aliases', { site: 'x.com' }],
    ['GET', '/api/aliases/someone%40wisp.localhost'],
    ['PATCH', '/api/aliases/someone%40wisp.localhost', { label: 'x' }],
    ['DELETE', '/api/aliases/someone%40wisp.localhost'],
    ['GET', '/api/messages'],
    ['GET', '/api/messages/1'],
    ['GET', '/api/messages/1/raw'],
    ['PATCH', '/api/messages/1', { seen: true }],
    ['DELETE', '/api/messages/1'],
  ];

  // The relay throttles failed logins per client address (30 a minute, then 429 for everyone
  // at that address), so this stays well under 30 failures.
  it('no token: 401 JSON on every route; a wrong token or a non-Bearer scheme: 401', async () => {
    const countBefore = (await allAliases(relay)).length;
    for (const [method, path, body] of routes) expectError(await api(relay, method, path, body, null), 401);
    for (const [method, path, body] of routes.slice(0, 2)) {
      expectError(await api(relay, method, path, body, 'not-a-real-token'), 401);
      expectError(await api(relay, method, path, body, relay.token + 'x'), 401);
      expectError(await api(relay, method, path, body, null, { authorization: `Basic ${Buffer.from(`me:${relay.token}`).toString('base64')}` }), 401);
    }
    // the refused POSTs made nothing
    expect((await allAliases(relay)).length).toBe(countBefore);
  });

  it('a token in the URL is not accepted', async () => {
    expectError(await api(relay, 'GET', `/api/aliases?token=${enc(relay.token)}`, undefined, null), 401);
    expectError(await api(relay, 'GET', `/api/aliases?access_token=${enc(relay.token)}`, undefined, null), 401);
  });

  it('unknown routes are 404 JSON', async () => {
    expectError(await api(relay, 'GET', '/api/nope'), 404);
    expectError(await api(relay, 'GET', '/definitely/not/here', undefined, null), 404);
    expectError(await api(relay, 'PUT', '/api/aliases'), [404, 405]);
  });
});

describe('health and metrics', () => {
  it('GET /healthz → 200 {"ok": true} without a token', async () => {
    const r = await api(relay, 'GET', '/healthz', undefined, null);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ok: true });
  });

  it('GET /metrics → Prometheus text format', async () => {
    const r = await api(relay, 'GET', '/metrics', undefined, null);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type') ?? '').toMatch(/^text\/plain/);
    const lines = r.text.split('\n').filter((l) => l.trim() !== '');
    expect(lines.some((l) => l.startsWith('# TYPE '))).toBe(true);
    const samples = lines.filter((l) => !l.startsWith('#'));
    expect(samples.length).toBeGreaterThan(0);
    for (const l of samples) expect(l).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?\s+(-?[0-9.eE+-]+|NaN|[+-]Inf)(\s+\d+)?$/);
  });
});
