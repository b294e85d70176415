// Disposable addresses: making them (rate-limited), changing them, and deciding at RCPT time
// whether one may receive mail.
import { randomBytes } from 'node:crypto';
import { siteOf } from '../../shared/site.ts';
import { AddressTakenError } from './ports.ts';
import type { AliasPatch, AliasRecord, Bus, Page, Store, User } from './ports.ts';
import { WispError, invalid, notFound } from './errors.ts';
import { RateLimiter } from './rate-limit.ts';
import type { Rate } from '../units.ts';

export interface AliasOptions {
  domains: string[];
  /** Seconds; null: never expires. */
  defaultTtl: number | null;
  rateLimit: Rate;
}

export interface CreateAlias {
  site?: unknown;
  ttl?: unknown;
  label?: unknown;
}

export type RecipientVerdict =
  | { ok: true; alias: AliasRecord }
  | { ok: false; reason: 'foreign-domain' | 'unknown' | 'inactive' | 'expired' };

const MAX_TTL = 10 * 365 * 86_400;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/** 10 base32 characters: 50 random bits, so nobody can guess another user's address. */
const RANDOM_CHARS = 10;

function randomPart(): string {
  const bytes = randomBytes(RANDOM_CHARS);
  let out = '';
  for (const b of bytes) out += BASE32[b & 31];
  return out;
}

/** `github.com` → `github`: a readable prefix that is a valid dot-atom piece. */
function sitePrefix(site: string | null): string {
  if (!site) return '';
  const first = site.split('.')[0] ?? '';
  return first.replace(/[^a-z0-9-]/g, '').replace(/^-+|-+$/g, '').slice(0, 20);
}

function parseTtl(ttl: unknown): number | null | undefined {
  if (ttl === undefined) return undefined;
  if (ttl === null) return null;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL) {
    throw invalid(`ttl must be a whole number of seconds from 1 to ${MAX_TTL}, or null for never.`);
  }
  return ttl;
}

function parseLabel(label: unknown): string | null | undefined {
  if (label === undefined) return undefined;
  if (label === null) return null;
  if (typeof label !== 'string' || label.length > 200) throw invalid('label must be a string of at most 200 characters.');
  return label.trim() || null;
}

export class Aliases {
  private limiter: RateLimiter;
  private domains: Set<string>;
  /** Told when a lifetime is set, so the expiry timer can move earlier. */
  onExpiryChange: (expiresAt: Date) => void = () => {};

  constructor(
    private store: Store,
    private bus: Bus,
    private options: AliasOptions,
  ) {
    this.limiter = new RateLimiter(options.rateLimit);
    this.domains = new Set(options.domains);
  }

  async create(user: User, request: CreateAlias): Promise<AliasRecord> {
    let site: string | null = null;
    if (request.site !== undefined && request.site !== null) {
      if (typeof request.site !== 'string' || request.site.length > 2048) throw invalid('site must be a hostname or URL.');
      site = siteOf(request.site);
      if (request.site.trim() && !site) throw invalid(`"${request.site}" is not a hostname or URL.`);
    }
    const ttl = parseTtl(request.ttl);
    const label = parseLabel(request.label) ?? null;

    const wait = this.limiter.take(user.id);
    if (wait > 0) {
      throw new WispError('rate-limited', `Too many new addresses: try again in ${wait} seconds.`, wait);
    }

    const now = new Date();
    const lifetime = ttl === undefined ? this.options.defaultTtl : ttl;
    const expiresAt = lifetime === null ? null : new Date(now.getTime() + lifetime * 1000);
    const prefix = sitePrefix(site);
    const domain = this.options.domains[0] as string;
    for (let attempt = 0; ; attempt++) {
      const local = prefix ? `${prefix}.${randomPart()}` : randomPart();
      try {
        const alias = await this.store.createAlias({ userId: user.id, address: `${local}@${domain}`, site, label, createdAt: now, expiresAt });
        this.bus.publish({ type: 'alias', userId: user.id, event: 'created', alias });
        if (expiresAt) this.onExpiryChange(expiresAt);
        return alias;
      } catch (err) {
        // 50 random bits make a collision rare; a few tries make it a non-event.
        if (!(err instanceof AddressTakenError) || attempt >= 4) throw err;
      }
    }
  }

  /** The user's own address, or a not-found error (another user's address looks the same as none). */
  async get(user: User, address: string): Promise<AliasRecord> {
    const alias = await this.store.getAlias(address.trim().toLowerCase());
    if (!alias || alias.userId !== user.id) throw notFound(`There is no address ${address}.`);
    return alias;
  }

  list(user: User, page: { cursor?: string; limit: number }): Promise<Page<AliasRecord>> {
    return this.store.listAliases(user.id, page);
  }

  async update(user: User, address: string, request: { ttl?: unknown; label?: unknown; active?: unknown; site?: unknown }): Promise<AliasRecord> {
    const alias = await this.get(user, address);
    const patch: AliasPatch = {};
    if (request.site !== undefined) {
      // An address made ahead of time (the extension keeps one spare) gets its site when first
      // used; a site, once set, is part of the address's identity and never changes.
      const site = typeof request.site === 'string' && request.site.length <= 2048 ? siteOf(request.site) : null;
      if (!site) throw invalid('site must be a hostname or URL.');
      if (alias.site !== null && alias.site !== site) throw new WispError('conflict', `The address ${alias.address} already belongs to ${alias.site}.`);
      patch.site = site;
    }
    const ttl = parseTtl(request.ttl);
    if (ttl !== undefined) patch.expiresAt = ttl === null ? null : new Date(Date.now() + ttl * 1000);
    const label = parseLabel(request.label);
    if (label !== undefined) patch.label = label;
    if (request.active !== undefined) {
      if (typeof request.active !== 'boolean') throw invalid('active must be true or false.');
      patch.active = request.active;
    }
    const updated = await this.store.updateAlias(alias.id, patch);
    if (!updated) throw notFound(`There is no address ${address}.`);
    this.bus.publish({ type: 'alias', userId: user.id, event: 'updated', alias: updated });
    if (patch.expiresAt) this.onExpiryChange(patch.expiresAt);
    return updated;
  }

  async remove(user: User, address: string): Promise<void> {
    const alias = await this.get(user, address);
    if (!(await this.store.deleteAlias(alias.id))) throw notFound(`There is no address ${address}.`);
    this.bus.publish({ type: 'alias', userId: user.id, event: 'deleted', alias });
  }

  /** Whether mail to `address` is accepted, decided at RCPT so no refused mail is ever taken in. */
  async checkRecipient(address: string, now = new Date()): Promise<RecipientVerdict> {
    const normalized = address.trim().toLowerCase();
    const at = normalized.lastIndexOf('@');
    if (at < 1 || !this.domains.has(normalized.slice(at + 1))) return { ok: false, reason: 'foreign-domain' };
    const alias = await this.store.getAlias(normalized);
    if (!alias) return { ok: false, reason: 'unknown' };
    if (alias.expired || (alias.expiresAt && alias.expiresAt <= now)) return { ok: false, reason: 'expired' };
    if (!alias.active) return { ok: false, reason: 'inactive' };
    return { ok: true, alias };
  }
}
