// Per-site addresses: reuse, the spare made ahead of time, claiming it, and keeping up with alias
// events; plus what happens when a message arrives (delivery) and relay URL handling.
import { describe, expect, it, vi } from 'vitest';
import { AddressBook, SPARE_LABEL } from '../../extension/background/addresses.ts';
import type { StateStore } from '../../extension/background/addresses.ts';
import { FRESH_MS, deliver, isFresh, safeLink } from '../../extension/background/codes.ts';
import type { DeliveryDeps, Note } from '../../extension/background/codes.ts';
import { RelayClient, normalizeRelayUrl, originPattern, socketUrl } from '../../extension/utils/relay.ts';
import { DEFAULTS } from '../../extension/utils/storage.ts';
import type { Stored } from '../../extension/utils/storage.ts';
import type { Alias, Summary } from '../../shared/api.ts';

vi.mock('wxt/browser', () => ({ browser: {} }));

const NOW = Date.parse('2026-11-26T12:00:00Z');
const RELAY = 'http://127.0.0.1:8025';

function memoryStore(initial: Partial<Stored> = {}): StateStore & { data: Stored } {
  const data = { ...structuredClone(DEFAULTS), ...structuredClone(initial) } as Stored;
  return {
    data,
    async load(...keys) {
      const out = {} as Pick<Stored, (typeof keys)[number]>;
      for (const k of keys) (out as Record<string, unknown>)[k] = structuredClone(data[k]);
      return out;
    },
    async save(values) {
      Object.assign(data, structuredClone(values));
    },
  };
}

function alias(address: string, over: Partial<Alias> = {}): Alias {
  return {
    address,
    site: null,
    label: null,
    active: true,
    createdAt: new Date(NOW - 60_000).toISOString(),
    expiresAt: new Date(NOW + 24 * 3600_000).toISOString(),
    messageCount: 0,
    lastMessageAt: null,
    ...over,
  };
}

/** A RelayClient whose requests are answered by `handler`, recording each call. */
function fakeClient(handler: (method: string, path: string, body: unknown) => unknown) {
  const calls: { method: string; path: string; body: unknown }[] = [];
  const client = new RelayClient({ relayUrl: RELAY, token: 'T' });
  client.request = (async (method: string, path: string, body?: unknown) => {
    calls.push({ method, path, body });
    return handler(method, path, body);
  }) as RelayClient['request'];
  return { client, calls };
}

let counter = 0;
function relayFake() {
  return fakeClient((method, path, body) => {
    if (method === 'POST') {
      const b = body as { site?: string; label?: string };
      return alias(`${b.site ? b.site.split('.')[0] + '.' : ''}n${++counter}@wisp.localhost`, { site: b.site ?? null, label: b.label ?? null });
    }
    if (method === 'PATCH') {
      const address = decodeURIComponent(path.split('/').pop()!);
      const b = body as { label?: string };
      return alias(address, { label: b.label ?? null });
    }
    if (method === 'GET') return { aliases: [], next: null };
    return undefined;
  });
}

describe('AddressBook', () => {
  it('returns to a site with its address', async () => {
    const store = memoryStore({ siteAddresses: { 'github.com': 'github.a@wisp.localhost' }, aliases: { 'github.a@wisp.localhost': alias('github.a@wisp.localhost', { site: 'github.com' }) } });
    const { client, calls } = relayFake();
    const book = new AddressBook(store, async () => client, () => NOW);
    expect(await book.addressFor('github.com')).toBe('github.a@wisp.localhost');
    expect(calls).toEqual([]);
  });

  it("reuses the relay's own address for a site (made on another device)", async () => {
    const store = memoryStore({ aliases: { 'x.1@wisp.localhost': alias('x.1@wisp.localhost', { site: 'x.com' }) } });
    const { client, calls } = relayFake();
    const book = new AddressBook(store, async () => client, () => NOW);
    expect(await book.addressFor('x.com')).toBe('x.1@wisp.localhost');
    expect(store.data.siteAddresses['x.com']).toBe('x.1@wisp.localhost');
    expect(calls).toEqual([]);
  });

  it('does not hand out an address that has ended or is about to', async () => {
    const old = alias('old@wisp.localhost', { site: 'x.com', expiresAt: new Date(NOW + 60_000).toISOString() });
    const store = memoryStore({ siteAddresses: { 'x.com': old.address }, aliases: { [old.address]: old } });
    const { client } = relayFake();
    const book = new AddressBook(store, async () => client, () => NOW);
    expect(await book.addressFor('x.com')).not.toBe(old.address);
  });

  it('takes the spare at once, then tells the relay its site and makes a new spare', async () => {
    const spare = { address: 'sp1@wisp.localhost', lifetime: 86400, expiresAt: new Date(NOW + 20 * 3600_000).toISOString(), relayUrl: RELAY };
    const store = memoryStore({ spare });
    const { client, calls } = relayFake();
    const book = new AddressBook(store, async () => client, () => NOW);
    expect(await book.addressFor('shop.example')).toBe('sp1@wisp.localhost');
    await vi.waitFor(() => expect(store.data.spare?.address).toMatch(/^n\d+@/));
    expect(calls[0]).toEqual({ method: 'PATCH', path: '/api/aliases/sp1%40wisp.localhost', body: { site: 'shop.example', label: 'shop.example', ttl: 86400 } });
    expect(calls[1]).toMatchObject({ method: 'POST', body: { label: SPARE_LABEL } });
    expect(store.data.addressSites['sp1@wisp.localhost']).toBe('shop.example');
    expect(store.data.siteAddresses['shop.example']).toBe('sp1@wisp.localhost');
  });

  it('two quick requests for two sites never get the same spare', async () => {
    const spare = { address: 'sp1@wisp.localhost', lifetime: 86400, expiresAt: null, relayUrl: RELAY };
    const store = memoryStore({ spare });
    const { client } = relayFake();
    const book = new AddressBook(store, async () => client, () => NOW);
    const [a, b] = await Promise.all([book.addressFor('a.com'), book.addressFor('b.com')]);
    expect(a).toBe('sp1@wisp.localhost');
    expect(b).not.toBe(a);
  });

  it('makes an address while the user waits only when there is no spare', async () => {
    const store = memoryStore();
    const { client, calls } = relayFake();
    const book = new AddressBook(store, async () => client, () => NOW);
    const address = await book.addressFor('news.example');
    expect(address).toMatch(/^news\.n\d+@/);
    expect(calls[0]).toMatchObject({ method: 'POST', body: { site: 'news.example' } });
  });

  it('a spare from another relay is not used', async () => {
    const store = memoryStore({ spare: { address: 'other@x', lifetime: null, expiresAt: null, relayUrl: 'http://elsewhere' } });
    const { client } = relayFake();
    const book = new AddressBook(store, async () => client, () => NOW);
    expect(await book.addressFor('a.com')).not.toBe('other@x');
  });

  it('forgets a deleted or expired address', async () => {
    const a = alias('a.1@wisp.localhost', { site: 'a.com' });
    const store = memoryStore({ siteAddresses: { 'a.com': a.address }, aliases: { [a.address]: a } });
    const { client } = relayFake();
    const book = new AddressBook(store, async () => client, () => NOW);
    await book.onAliasEvent('expired', a);
    expect(store.data.siteAddresses).toEqual({});
    expect(store.data.aliases).toEqual({});
  });

  it('knows the site of a message to a claimed spare, which the relay may not', async () => {
    const store = memoryStore({ addressSites: { 'sp@w': 'shop.example' } });
    const book = new AddressBook(store, async () => null, () => NOW);
    expect(await book.siteOfMessage({ site: null, alias: 'sp@w' })).toBe('shop.example');
    expect(await book.siteOfMessage({ site: 'github.com', alias: 'sp@w' })).toBe('github.com');
  });

  it('refuses to make addresses when not paired', async () => {
    const book = new AddressBook(memoryStore(), async () => null, () => NOW);
    await expect(book.addressFor('a.com')).rejects.toThrow(/not paired/);
  });
});

function message(over: Partial<Summary> = {}): Summary {
  return {
    id: '7',
    alias: 'a@w',
    site: 'acme.test',
    from: 'x@acme.test',
    subject: 'Your code',
    receivedAt: new Date().toISOString(),
    size: 100,
    seen: false,
    preview: '',
    code: '123456',
    link: null,
    ...over,
  };
}

function deps(tabs: number[], fill = true): DeliveryDeps & { notes: Note[]; copied: string[]; sent: number[] } {
  const notes: Note[] = [];
  const copied: string[] = [];
  const sent: number[] = [];
  return {
    notes,
    copied,
    sent,
    tabsForSite: async () => tabs,
    sendCode: async (id) => {
      sent.push(id);
      return { filled: fill, pending: !fill };
    },
    copy: async (t) => {
      copied.push(t);
      return true;
    },
    notify: async (n) => void notes.push(n),
  };
}

describe('deliver', () => {
  it('fills the open tab, copies the code and says so', async () => {
    const d = deps([3]);
    expect(await deliver(message(), 'acme.test', d)).toEqual({ tabs: 1, filled: 1, copied: true });
    expect(d.sent).toEqual([3]);
    expect(d.copied).toEqual(['123456']);
    expect(d.notes[0]).toMatchObject({ title: '123456 — code for acme.test', message: 'Copied to the clipboard, filled in.', actions: [] });
  });

  it('with the site not open: a notification with Copy, and the clipboard untouched', async () => {
    const d = deps([]);
    await deliver(message(), 'acme.test', d);
    expect(d.copied).toEqual([]);
    expect(d.notes[0]?.actions).toEqual(['copy']);
  });

  it('a code field that is not there yet: the tab waits for it', async () => {
    const d = deps([3], false);
    await deliver(message(), 'acme.test', d);
    expect(d.notes[0]?.message).toContain('when the code field appears');
  });

  it('a link-only message: a notification with Open link, nothing opened', async () => {
    const d = deps([3]);
    await deliver(message({ code: null, link: 'https://acme.test/confirm?t=1' }), 'acme.test', d);
    expect(d.sent).toEqual([]);
    expect(d.notes[0]).toMatchObject({ title: 'Link from acme.test', actions: ['open'] });
  });

  it('never offers a non-web link', () => {
    expect(safeLink('javascript:alert(1)')).toBeNull();
    expect(safeLink('https://a.test/x')).toBe('https://a.test/x');
  });

  it('acts only on fresh messages', () => {
    expect(isFresh(message())).toBe(true);
    expect(isFresh(message({ receivedAt: new Date(Date.now() - FRESH_MS - 1000).toISOString() }))).toBe(false);
  });
});

describe('relay URLs', () => {
  it.each([
    ['http://127.0.0.1:8025/', 'http://127.0.0.1:8025'],
    ['127.0.0.1:8025', 'http://127.0.0.1:8025'],
    ['localhost:8025', 'http://localhost:8025'],
    ['relay.example.com', 'https://relay.example.com'],
    ['https://example.com/wisp/', 'https://example.com/wisp'],
    ['ws://127.0.0.1:8025/api/ws?x=1', 'http://127.0.0.1:8025/api/ws'],
  ])('%s → %s', (input, out) => expect(normalizeRelayUrl(input)).toBe(out));

  it('rejects what is not a relay URL', () => {
    expect(() => normalizeRelayUrl('')).toThrow();
    expect(() => normalizeRelayUrl('ftp://x')).toThrow(/http/);
    expect(() => normalizeRelayUrl('http://me:tok@x')).toThrow(/Token field/);
  });

  it('derives the socket URL and the permission pattern', () => {
    expect(socketUrl('https://example.com/wisp')).toBe('wss://example.com/wisp/api/ws');
    expect(originPattern('http://127.0.0.1:8025')).toBe('http://127.0.0.1/*');
  });
});
