// popup.html: the current tab's site, its address, Generate address, the site's recent messages
// with their codes, and a searchable list of every address (label, extend, delete).
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { browser } from 'wxt/browser';
import type { Alias, Summary } from '../../shared/api.ts';
import { siteOf } from '../../shared/site.ts';
import type { AddressReply, WhereReply } from '../messages.ts';
import { RelayClient } from '../utils/relay.ts';
import * as storage from '../utils/storage.ts';
import type { ConnectionStatus, Settings } from '../utils/storage.ts';
import { statusLine } from './Options.tsx';
import { copyFromPage } from '../utils/clipboard.ts';

const EXTEND_SECONDS = 24 * 3600;

/** The tab the popup is about: the active one; when this page itself is open in a tab, the last one used before it. */
async function currentTabUrl(): Promise<string | null> {
  const self = await browser.tabs.getCurrent().catch(() => undefined);
  let tabs = await browser.tabs.query({ active: true, currentWindow: true });
  if (self) {
    tabs = (await browser.tabs.query({ currentWindow: true })).filter((t) => t.id !== self.id).sort((a, b) => (b.lastAccessed ?? 0) - (a.lastAccessed ?? 0));
  }
  const tab = tabs[0];
  if (!tab?.id) return null;
  if (tab.url && /^https?:/i.test(tab.url)) return tab.url;
  const reply = (await browser.tabs.sendMessage(tab.id, { type: 'where' }, { frameId: 0 }).catch(() => null)) as WhereReply | null;
  return reply?.url ?? null;
}

function when(iso: string | null): string {
  if (!iso) return 'never';
  const ms = Date.parse(iso) - Date.now();
  const abs = Math.abs(ms);
  const unit = abs >= 86_400_000 ? [86_400_000, 'd'] : abs >= 3_600_000 ? [3_600_000, 'h'] : [60_000, 'min'];
  const n = Math.max(1, Math.round(abs / (unit[0] as number)));
  return ms >= 0 ? `in ${n} ${unit[1]}` : `${n} ${unit[1]} ago`;
}

function CopyButton(props: { text: string; label?: string; name?: string }): JSX.Element {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="small"
      aria-label={props.name}
      onClick={() =>
        void copyFromPage(props.text).then((ok) => {
          setDone(ok);
          setTimeout(() => setDone(false), 1500);
        })
      }
    >
      {done ? 'Copied' : (props.label ?? 'Copy')}
    </button>
  );
}

function MessageItem({ m }: { m: Summary }): JSX.Element {
  return (
    <li>
      <div class="row">
        <div class="grow">
          <div>{m.subject || '(no subject)'}</div>
          <div class="muted" style={{ fontSize: '12px' }}>
            {m.from} · {when(m.receivedAt)}
          </div>
        </div>
        {m.code && <span class="code mono">{m.code}</span>}
        {m.code && <CopyButton text={m.code} name={`Copy code ${m.code}`} />}
        {m.link && /^https?:\/\//i.test(m.link) && (
          <button type="button" class="small" onClick={() => void browser.tabs.create({ url: m.link! })}>
            Open link
          </button>
        )}
      </div>
    </li>
  );
}

function AliasItem(props: { a: Alias; client: RelayClient; onChange: (a: Alias | null) => void }): JSX.Element {
  const { a, client, onChange } = props;
  const [editing, setEditing] = useState(false);
  const [label, setLabel] = useState(a.label ?? '');
  const [error, setError] = useState<string | null>(null);
  const run = (p: Promise<Alias | null>) =>
    p.then(onChange, (err: unknown) => setError(err instanceof Error ? err.message : String(err)));
  const extend = () => {
    const base = a.expiresAt ? Math.max(Date.parse(a.expiresAt), Date.now()) : Date.now();
    const ttl = Math.round((base - Date.now()) / 1000) + EXTEND_SECONDS;
    void run(client.updateAlias(a.address, { ttl }));
  };
  return (
    <li>
      <div class="row">
        <div class="grow">
          <div class="mono">{a.address}</div>
          <div class="muted" style={{ fontSize: '12px' }}>
            {[a.site, a.label && a.label !== a.site ? `“${a.label}”` : null, a.active ? null : 'paused', `ends ${when(a.expiresAt)}`, `${a.messageCount} mail`]
              .filter(Boolean)
              .join(' · ')}
          </div>
        </div>
        <CopyButton text={a.address} name={`Copy ${a.address}`} />
      </div>
      {editing ? (
        <form
          class="row"
          style={{ marginTop: '4px' }}
          onSubmit={(e) => {
            e.preventDefault();
            setEditing(false);
            void run(client.updateAlias(a.address, { label: label.trim() || null }));
          }}
        >
          <input class="grow" type="text" aria-label={`Label for ${a.address}`} value={label} onInput={(e) => setLabel(e.currentTarget.value)} />
          <button type="submit" class="small">
            Save label
          </button>
        </form>
      ) : (
        <div class="row" style={{ marginTop: '4px' }}>
          <button type="button" class="small" onClick={() => setEditing(true)}>
            Label
          </button>
          {a.expiresAt && (
            <button type="button" class="small" onClick={extend}>
              Extend 24 h
            </button>
          )}
          <button
            type="button"
            class="small"
            onClick={() => {
              if (confirm(`Delete ${a.address} and its mail?`)) void run(client.deleteAlias(a.address).then(() => null));
            }}
          >
            Delete
          </button>
        </div>
      )}
      {error && <div class="bad">{error}</div>}
    </li>
  );
}

function AllAddresses({ client }: { client: RelayClient }): JSX.Element {
  const [list, setList] = useState<Alias[] | null>(null);
  const [query, setQuery] = useState('');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    client.allAliases().then(setList, (err: unknown) => setError(err instanceof Error ? err.message : String(err)));
  }, [client]);
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return (list ?? []).filter((a) => !q || [a.address, a.site ?? '', a.label ?? ''].some((s) => s.toLowerCase().includes(q)));
  }, [list, query]);
  return (
    <section>
      <input type="search" aria-label="Search addresses" placeholder="Search by site, label or address" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      {error && <p class="bad">{error}</p>}
      {!list && !error && <p class="muted">Loading…</p>}
      {list && shown.length === 0 && <p class="muted">No addresses{query ? ' match' : ' yet'}.</p>}
      <ul class="plain">
        {shown.map((a) => (
          <AliasItem
            key={a.address}
            a={a}
            client={client}
            onChange={(updated) =>
              setList((l) => (l ?? []).flatMap((x) => (x.address !== a.address ? [x] : updated ? [updated] : [])))
            }
          />
        ))}
      </ul>
    </section>
  );
}

export function Popup(): JSX.Element {
  const [settings, setSettings] = useState<Settings | null | undefined>(undefined);
  const [status, setStatus] = useState<ConnectionStatus | null>(null);
  const [site, setSite] = useState<string | null>(null);
  const [address, setAddress] = useState<string | null>(null);
  const [messages, setMessages] = useState<Summary[]>([]);
  const [view, setView] = useState<'site' | 'all'>('site');
  const [note, setNote] = useState<{ text: string; kind: 'ok' | 'bad' } | null>(null);
  const [busy, setBusy] = useState(false);
  const client = useMemo(() => (settings ? new RelayClient(settings) : null), [settings]);

  async function loadMessages(c: RelayClient, addr: string | null, s: string | null): Promise<void> {
    const { recent } = await storage.load('recent');
    let list = recent.filter((m) => (addr && m.alias === addr) || (s && m.site === s));
    if (addr) {
      try {
        list = (await c.messages({ alias: addr, limit: 10 })).messages;
      } catch {
        /* offline: what the extension saw is shown */
      }
    }
    setMessages(list.slice(0, 10));
  }

  useEffect(() => {
    void (async () => {
      const { settings: st, status: stat, siteAddresses } = await storage.load('settings', 'status', 'siteAddresses');
      setSettings(st);
      setStatus(stat);
      const url = await currentTabUrl();
      const s = url ? siteOf(url) : null;
      setSite(s);
      const addr = s ? (siteAddresses[s] ?? null) : null;
      setAddress(addr);
      if (st) await loadMessages(new RelayClient(st), addr, s);
    })();
    return storage.watch(['status', 'recent', 'siteAddresses'], (changes) => {
      if (changes.status) setStatus(changes.status);
    });
  }, []);

  async function generate(): Promise<void> {
    if (!site) return;
    setBusy(true);
    setNote(null);
    const reply = (await browser.runtime.sendMessage({ type: 'generate', site })) as AddressReply;
    setBusy(false);
    if (!reply?.ok) {
      setNote({ text: reply?.message ?? 'Could not make an address.', kind: 'bad' });
      return;
    }
    setAddress(reply.address);
    const copied = await copyFromPage(reply.address);
    setNote({ text: copied ? 'New address copied.' : 'New address made.', kind: 'ok' });
  }

  if (settings === undefined) return <main style={{ width: '380px', padding: '12px' }} />;
  if (!settings) {
    return (
      <main style={{ width: '380px', padding: '12px' }}>
        <h1>Wisp</h1>
        <p>Pair Wisp with your relay to make addresses.</p>
        <button class="primary" type="button" onClick={() => void browser.runtime.openOptionsPage()}>
          Open options
        </button>
      </main>
    );
  }
  const live = status ? statusLine(status) : null;
  return (
    <main style={{ width: '400px', padding: '12px' }}>
      <div class="row">
        <h1 class="grow" style={{ margin: 0 }}>
          Wisp
        </h1>
        <button type="button" class="small" aria-pressed={view === 'all'} onClick={() => setView(view === 'all' ? 'site' : 'all')}>
          {view === 'all' ? 'This site' : 'All addresses'}
        </button>
        <button type="button" class="small" onClick={() => void browser.runtime.openOptionsPage()}>
          Options
        </button>
      </div>
      {view === 'all' && client ? (
        <>
          <h2>All addresses</h2>
          <AllAddresses client={client} />
        </>
      ) : (
        <>
          <h2>{site ?? 'No site in this tab'}</h2>
          {site && (
            <div class="card">
              {address ? (
                <div class="row">
                  <span class="mono grow" id="site-address">
                    {address}
                  </span>
                  <CopyButton text={address} name="Copy address" />
                </div>
              ) : (
                <p class="muted" style={{ margin: 0 }}>
                  No address for this site yet.
                </p>
              )}
              <div class="row" style={{ marginTop: '8px' }}>
                <button type="button" class="primary" disabled={busy} onClick={() => void generate()}>
                  Generate address
                </button>
                {note && <span class={note.kind}>{note.text}</span>}
              </div>
            </div>
          )}
          <h2>Recent messages</h2>
          {messages.length === 0 ? (
            <p class="muted">Nothing yet.</p>
          ) : (
            <ul class="plain">
              {messages.map((m) => (
                <MessageItem key={m.id} m={m} />
              ))}
            </ul>
          )}
        </>
      )}
      {live && (
        <p class={live.kind} style={{ fontSize: '12px', marginBottom: 0 }}>
          {live.text}
        </p>
      )}
    </main>
  );
}
