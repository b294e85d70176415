// The relay's HTTP API (INTERFACE.md §2), as the extension uses it. The only server the extension
// ever talks to is the one in these settings.
import type { Alias, CreateAliasRequest, Summary, UpdateAliasRequest } from '../../shared/api.ts';
import type { Settings } from './storage.ts';

export type RelayErrorKind = 'network' | 'auth' | 'http';

export class RelayError extends Error {
  constructor(
    message: string,
    readonly kind: RelayErrorKind,
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = 'RelayError';
  }
}

/** Relay URL as typed → canonical base URL (scheme, host, port, path prefix; no trailing slash). */
export function normalizeRelayUrl(input: string): string {
  let text = input.trim();
  if (!text) throw new Error('Enter the relay URL, for example http://127.0.0.1:8025');
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    // Loopback, LAN addresses and .localhost/.local names are usually plain http.
    const local = /^(localhost|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\]|[^/:]*\.(localhost|local))(:\d+)?(\/|$)/i.test(text);
    text = (local ? 'http://' : 'https://') + text;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`"${input.trim()}" is not a URL.`);
  }
  if (url.protocol === 'ws:' || url.protocol === 'wss:') url = new URL(text.replace(/^ws/i, 'http'));
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('The relay URL must start with http:// or https://');
  if (url.username || url.password) throw new Error('Put the token in the Token field, not in the URL.');
  return (url.origin + url.pathname).replace(/\/+$/, '');
}

/** ws(s)://…/api/ws for a relay base URL. */
export function socketUrl(relayUrl: string): string {
  return relayUrl.replace(/^http/i, 'ws') + '/api/ws';
}

/** The origin pattern for optional host permissions: http://relay.example/* */
export function originPattern(relayUrl: string): string {
  const u = new URL(relayUrl);
  return `${u.protocol}//${u.hostname}/*`;
}

export interface CheckResult {
  ok: boolean;
  kind?: RelayErrorKind;
  status?: number | null;
  message: string;
}

export class RelayClient {
  constructor(
    readonly settings: Settings,
    private timeoutMs = 15_000,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.settings.relayUrl + path, {
        method,
        headers: {
          authorization: `Bearer ${this.settings.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (err) {
      const why = err instanceof Error && err.name === 'TimeoutError' ? 'did not answer in time' : 'cannot be reached';
      throw new RelayError(`The relay at ${this.settings.relayUrl} ${why}.`, 'network');
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    if (!res.ok) {
      const said = json && typeof json === 'object' && typeof (json as { error?: unknown }).error === 'string' ? (json as { error: string }).error : `HTTP ${res.status}`;
      if (res.status === 401) throw new RelayError('The relay refused this token.', 'auth', 401);
      throw new RelayError(said, 'http', res.status);
    }
    if (json === undefined) throw new RelayError(`The relay at ${this.settings.relayUrl} did not answer with JSON: is that the relay's URL?`, 'http', res.status);
    return json as T;
  }

  createAlias(req: CreateAliasRequest): Promise<Alias> {
    return this.request<Alias>('POST', '/api/aliases', req);
  }

  listAliases(cursor?: string | null, limit = 200): Promise<{ aliases: Alias[]; next?: string | null }> {
    const q = new URLSearchParams({ limit: String(limit) });
    if (cursor) q.set('cursor', cursor);
    return this.request('GET', `/api/aliases?${q}`);
  }

  /** Every address, following `next` (bounded, so a huge account cannot stall the extension). */
  async allAliases(maxPages = 10): Promise<Alias[]> {
    const out: Alias[] = [];
    let cursor: string | null | undefined = null;
    for (let page = 0; page < maxPages; page++) {
      const body: { aliases: Alias[]; next?: string | null } = await this.listAliases(cursor);
      out.push(...body.aliases);
      cursor = body.next;
      if (!cursor) break;
    }
    return out;
  }

  updateAlias(address: string, patch: UpdateAliasRequest & { site?: string }): Promise<Alias> {
    return this.request<Alias>('PATCH', `/api/aliases/${encodeURIComponent(address)}`, patch);
  }

  deleteAlias(address: string): Promise<void> {
    return this.request<void>('DELETE', `/api/aliases/${encodeURIComponent(address)}`);
  }

  messages(query: { alias?: string; since?: string; limit?: number } = {}): Promise<{ messages: Summary[]; next?: string | null }> {
    const q = new URLSearchParams();
    if (query.alias) q.set('alias', query.alias);
    if (query.since) q.set('since', query.since);
    q.set('limit', String(query.limit ?? 50));
    return this.request('GET', `/api/messages?${q}`);
  }

  /** Does the relay answer, and does it take this token? One sentence either way. */
  async check(): Promise<CheckResult> {
    try {
      await this.request('GET', '/api/aliases?limit=1');
      return { ok: true, message: `Connected: the relay at ${this.settings.relayUrl} answered and accepted this token.` };
    } catch (err) {
      const e = err instanceof RelayError ? err : new RelayError(String(err), 'network');
      const message =
        e.kind === 'auth'
          ? `The relay at ${this.settings.relayUrl} answered, but refused this token.`
          : e.kind === 'network'
            ? `No answer from ${this.settings.relayUrl}: is the relay running, and is the URL right?`
            : `The relay answered with an error: ${e.message}`;
      return { ok: false, kind: e.kind, status: e.status, message };
    }
  }
}
