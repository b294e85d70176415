// options.html: pairing with a relay (INTERFACE.md §5). Saving never asks for a permission:
// the relay is reached through the access the content script already has (see README,
// "Extension permissions"); only if the user has restricted that access does a separate button
// ask for the relay's origin alone.
import { useEffect, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { browser } from 'wxt/browser';
import { RelayClient, normalizeRelayUrl, originPattern } from '../utils/relay.ts';
import * as storage from '../utils/storage.ts';
import type { ConnectionStatus } from '../utils/storage.ts';

type Line = { text: string; kind: 'ok' | 'bad' | 'muted' };

/** A pairing offer from the relay's /pair page is used only this soon after the click. */
const OFFER_MS = 10 * 60_000;

export function statusLine(status: ConnectionStatus): Line {
  switch (status.state) {
    case 'connected':
      return { text: `Live: receiving codes as ${status.user ?? 'your user'}.`, kind: 'ok' };
    case 'connecting':
      return { text: 'Live: connecting…', kind: 'muted' };
    case 'offline':
      return { text: `Live: ${status.detail ?? 'not connected'}`, kind: 'bad' };
    case 'refused':
      return { text: `Live: ${status.detail ?? 'the relay refused the token.'}`, kind: 'bad' };
    default:
      return { text: 'Not paired yet.', kind: 'muted' };
  }
}

export function Options(): JSX.Element {
  const [relayUrl, setRelayUrl] = useState('');
  const [token, setToken] = useState('');
  const [line, setLine] = useState<Line | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [live, setLive] = useState<ConnectionStatus | null>(null);
  const [grant, setGrant] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function check(url: string, tok: string): Promise<void> {
    setLine({ text: 'Asking the relay…', kind: 'muted' });
    const result = await new RelayClient({ relayUrl: url, token: tok }, 8000).check();
    setLine({ text: result.message, kind: result.ok ? 'ok' : 'bad' });
    setGrant(null);
    if (!result.ok && result.kind === 'network' && !import.meta.env.FIREFOX) {
      const pattern = originPattern(url);
      const has = await browser.permissions.contains({ origins: [pattern] }).catch(() => true);
      if (!has) setGrant(pattern);
    }
  }

  useEffect(() => {
    void (async () => {
      const { settings, pairOffer, status } = await storage.load('settings', 'pairOffer', 'status');
      setLive(status);
      if (pairOffer && Date.now() - pairOffer.at < OFFER_MS) {
        setRelayUrl(pairOffer.relayUrl);
        setToken(pairOffer.token);
        setNote(`Filled in from the pairing page of ${pairOffer.relayUrl}. Press Save to pair with it.`);
        await storage.save({ pairOffer: null });
        return;
      }
      if (settings) {
        setRelayUrl(settings.relayUrl);
        setToken(settings.token);
        await check(settings.relayUrl, settings.token);
      }
    })();
    return storage.watch(['status'], (changes) => changes.status && setLive(changes.status));
  }, []);

  async function onSave(e: Event): Promise<void> {
    e.preventDefault();
    let url: string;
    try {
      url = normalizeRelayUrl(relayUrl);
    } catch (err) {
      setLine({ text: (err as Error).message, kind: 'bad' });
      return;
    }
    const tok = token.trim();
    if (!tok) {
      setLine({ text: 'Enter the token the relay printed.', kind: 'bad' });
      return;
    }
    setBusy(true);
    setRelayUrl(url);
    setToken(tok);
    setNote(null);
    await storage.save({ settings: { relayUrl: url, token: tok } });
    await check(url, tok);
    setBusy(false);
  }

  async function onGrant(): Promise<void> {
    if (!grant) return;
    const ok = await browser.permissions.request({ origins: [grant] });
    if (ok) {
      await browser.runtime.sendMessage({ type: 'reconnect' });
      await check(normalizeRelayUrl(relayUrl), token.trim());
    }
  }

  const liveLine = live ? statusLine(live) : null;
  return (
    <main style={{ maxWidth: '560px', margin: '24px auto', padding: '0 16px' }}>
      <h1>Wisp</h1>
      <p class="muted">
        Pair the extension with your relay. The relay prints both values on its first start (the line with <code>"first user created"</code>); its
        page <code>/pair</code> shows them again and can fill them in here.
      </p>
      <form onSubmit={(e) => void onSave(e)}>
        <label for="relay-url">Relay URL</label>
        <input
          id="relay-url"
          type="text"
          inputMode="url"
          placeholder="http://127.0.0.1:8025"
          autoComplete="off"
          spellcheck={false}
          value={relayUrl}
          onInput={(e) => setRelayUrl(e.currentTarget.value)}
        />
        <label for="token">Token</label>
        <input
          id="token"
          type="text"
          placeholder="wisp_…"
          autoComplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        {note && <p class="muted">{note}</p>}
        <div class="row" style={{ marginTop: '12px' }}>
          <button class="primary" type="submit" disabled={busy}>
            Save
          </button>
        </div>
      </form>
      <p id="check" role="status" aria-live="polite" class={line?.kind ?? 'muted'}>
        {line?.text ?? ''}
      </p>
      {grant && (
        <p>
          Your browser may be blocking Wisp from this site.{' '}
          <button type="button" onClick={() => void onGrant()}>
            Allow access to {new URL(grant.replace('/*', '/')).host}
          </button>
        </p>
      )}
      {liveLine && (
        <p id="live" class={liveLine.kind}>
          {liveLine.text}
        </p>
      )}
      <h2>Shortcuts</h2>
      <p class="muted">
        Focus a sign-up form's email field and press <b>Fill temp address</b>, right-click any text field, or press <kbd>Alt</kbd>+<kbd>Shift</kbd>+
        <kbd>E</kbd>.
      </p>
    </main>
  );
}
