// Everything the extension remembers, in storage.local: the MV3 service worker may stop at any
// moment, so nothing that matters lives only in its memory.
import { browser } from 'wxt/browser';
import type { Alias, Summary } from '../../shared/api.ts';

export interface Settings {
  /** Base URL of the relay, without a trailing slash: http://127.0.0.1:8025 */
  relayUrl: string;
  token: string;
}

export type ConnectionState = 'unpaired' | 'connecting' | 'connected' | 'offline' | 'refused';

export interface ConnectionStatus {
  state: ConnectionState;
  /** The relay's user name, from its hello frame. */
  user?: string;
  /** One sentence for people. */
  detail?: string;
  at: number;
}

/** An address made ahead of time, so that filling never waits for the relay. */
export interface Spare {
  address: string;
  /** Seconds the relay gave it (its default lifetime), null: never expires. */
  lifetime: number | null;
  expiresAt: string | null;
  relayUrl: string;
}

export interface PairOffer {
  relayUrl: string;
  token: string;
  at: number;
}

export interface Stored {
  settings: Settings | null;
  status: ConnectionStatus;
  /** Id of the newest message seen: the WebSocket's `since` on the next connect. */
  lastMessageId: string | null;
  /** site → its address (the one filled last for that site). */
  siteAddresses: Record<string, string>;
  /** address → site, for addresses whose site the relay does not know (claimed spares). */
  addressSites: Record<string, string>;
  spare: Spare | null;
  /** The relay's addresses as last seen (kept current by alias frames). */
  aliases: Record<string, Alias>;
  /** Recent messages, newest first. */
  recent: Summary[];
  /** Ids of messages already acted on (copied, filled, notified). */
  handled: string[];
  pairOffer: PairOffer | null;
}

export const DEFAULTS: Stored = {
  settings: null,
  status: { state: 'unpaired', at: 0 },
  lastMessageId: null,
  siteAddresses: {},
  addressSites: {},
  spare: null,
  aliases: {},
  recent: [],
  handled: [],
  pairOffer: null,
};

export type Key = keyof Stored;

export async function load<K extends Key>(...keys: K[]): Promise<Pick<Stored, K>> {
  const got = (await browser.storage.local.get(keys)) as Partial<Stored>;
  const out = {} as Pick<Stored, K>;
  for (const k of keys) out[k] = (got[k] ?? structuredClone(DEFAULTS[k])) as Stored[K];
  return out;
}

export async function get<K extends Key>(key: K): Promise<Stored[K]> {
  return (await load(key))[key];
}

export async function save(values: Partial<Stored>): Promise<void> {
  await browser.storage.local.set(values);
}

/** Calls `fn` with the new values of these keys whenever one of them changes. */
export function watch(keys: Key[], fn: (changes: Partial<Stored>) => void): () => void {
  const listener = (changes: Record<string, { newValue?: unknown }>, area: string) => {
    if (area !== 'local') return;
    const picked: Partial<Stored> = {};
    let any = false;
    for (const k of keys) {
      if (k in changes) {
        (picked as Record<string, unknown>)[k] = changes[k]?.newValue ?? structuredClone(DEFAULTS[k]);
        any = true;
      }
    }
    if (any) fn(picked);
  };
  browser.storage.onChanged.addListener(listener);
  return () => browser.storage.onChanged.removeListener(listener);
}

/** Forget everything that belongs to one relay account (when the pairing changes). */
export async function resetAccountState(): Promise<void> {
  await save({
    lastMessageId: null,
    siteAddresses: {},
    addressSites: {},
    spare: null,
    aliases: {},
    recent: [],
    handled: [],
  });
}
