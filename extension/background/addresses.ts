// One address per site. Returning to a site reuses its address; a new site takes the spare
// address made ahead of time (so filling never waits for the relay) and then tells the relay which
// site it went to; only without a spare is an address made while the user waits.
import type { Alias, AliasEvent, Summary } from '../../shared/api.ts';
import type { RelayClient } from '../utils/relay.ts';
import type { Spare, Stored } from '../utils/storage.ts';

export interface StateStore {
  load<K extends keyof Stored>(...keys: K[]): Promise<Pick<Stored, K>>;
  save(values: Partial<Stored>): Promise<void>;
}

/** An address this close to its end is not handed out again. */
const MIN_REMAINING_MS = 10 * 60_000;
/** A spare this close to its end is replaced. */
const SPARE_MIN_REMAINING_MS = 60 * 60_000;
export const SPARE_LABEL = 'Wisp: spare, not used yet';

export function usable(alias: Pick<Alias, 'active' | 'expiresAt'>, now: number, margin = MIN_REMAINING_MS): boolean {
  return alias.active && (alias.expiresAt === null || Date.parse(alias.expiresAt) - now > margin);
}

function spareFresh(spare: Spare, relayUrl: string, now: number): boolean {
  return spare.relayUrl === relayUrl && (spare.expiresAt === null || Date.parse(spare.expiresAt) - now > SPARE_MIN_REMAINING_MS);
}

function lifetimeOf(alias: Alias): number | null {
  if (alias.expiresAt === null) return null;
  return Math.max(60, Math.round((Date.parse(alias.expiresAt) - Date.parse(alias.createdAt)) / 1000));
}

export class AddressBook {
  /** One change at a time: two quick clicks must not take the spare twice. */
  private lock: Promise<unknown> = Promise.resolve();
  private spareInFlight: Promise<void> | null = null;

  constructor(
    private store: StateStore,
    private client: () => Promise<RelayClient | null>,
    private now: () => number = Date.now,
    private onError: (err: unknown) => void = (err) => console.warn('wisp:', err),
  ) {}

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** The site's address: its own if it has a usable one, else the spare, else a new one. */
  addressFor(site: string): Promise<string> {
    return this.exclusive(async () => {
      const { siteAddresses, aliases } = await this.store.load('siteAddresses', 'aliases');
      const now = this.now();
      const known = siteAddresses[site];
      if (known) {
        const alias = aliases[known];
        if (!alias || usable(alias, now)) return known;
      }
      const match = Object.values(aliases)
        .filter((a) => a.site === site && usable(a, now))
        .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
      if (match) {
        await this.remember(site, match.address);
        return match.address;
      }
      return this.fresh(site);
    });
  }

  /** A new address for the site (the popup's Generate address), which becomes the site's address. */
  generate(site: string): Promise<string> {
    return this.exclusive(() => this.fresh(site));
  }

  private async fresh(site: string): Promise<string> {
    const client = await this.client();
    if (!client) throw new Error('Wisp is not paired with a relay.');
    const { spare } = await this.store.load('spare');
    if (spare && spareFresh(spare, client.settings.relayUrl, this.now())) {
      await this.store.save({ spare: null });
      await this.remember(site, spare.address, true);
      void this.claim(client, spare, site);
      return spare.address;
    }
    const alias = await client.createAlias({ site });
    await this.cache(alias);
    await this.remember(site, alias.address);
    void this.ensureSpare();
    return alias.address;
  }

  /** Tell the relay the spare's site (as its label, and as `site` where the relay accepts it) and give it a full lifetime from now. */
  private async claim(client: RelayClient, spare: Spare, site: string): Promise<void> {
    try {
      const updated = await client.updateAlias(spare.address, { site, label: site, ttl: spare.lifetime });
      await this.cache(updated);
    } catch (err) {
      this.onError(err);
    }
    void this.ensureSpare();
  }

  private async remember(site: string, address: string, claimed = false): Promise<void> {
    const { siteAddresses, addressSites } = await this.store.load('siteAddresses', 'addressSites');
    siteAddresses[site] = address;
    if (claimed) addressSites[address] = site;
    await this.store.save({ siteAddresses, addressSites });
  }

  /** Make a spare if there is none (or it is about to end). Never throws. */
  ensureSpare(): Promise<void> {
    this.spareInFlight ??= (async () => {
      try {
        const client = await this.client();
        if (!client) return;
        const { spare } = await this.store.load('spare');
        if (spare && spareFresh(spare, client.settings.relayUrl, this.now())) return;
        if (spare && spare.relayUrl === client.settings.relayUrl) await client.deleteAlias(spare.address).catch(() => undefined);
        const alias = await client.createAlias({ label: SPARE_LABEL });
        await this.cache(alias);
        await this.store.save({ spare: { address: alias.address, lifetime: lifetimeOf(alias), expiresAt: alias.expiresAt, relayUrl: client.settings.relayUrl } });
      } catch (err) {
        this.onError(err);
      } finally {
        this.spareInFlight = null;
      }
    })();
    return this.spareInFlight;
  }

  /** Reload the address cache from the relay. */
  async refresh(): Promise<void> {
    const client = await this.client();
    if (!client) return;
    const list = await client.allAliases();
    const aliases: Record<string, Alias> = {};
    for (const a of list) aliases[a.address] = a;
    await this.exclusive(async () => {
      const { siteAddresses, spare } = await this.store.load('siteAddresses', 'spare');
      // Forget sites whose address is gone.
      for (const [site, address] of Object.entries(siteAddresses)) if (!aliases[address]) delete siteAddresses[site];
      await this.store.save({ aliases, siteAddresses, ...(spare && !aliases[spare.address] ? { spare: null } : {}) });
    });
  }

  private async cache(alias: Alias): Promise<void> {
    const { aliases } = await this.store.load('aliases');
    aliases[alias.address] = alias;
    await this.store.save({ aliases });
  }

  /** An alias frame from the relay. */
  onAliasEvent(event: AliasEvent, alias: Alias): Promise<void> {
    return this.exclusive(async () => {
      const { aliases, siteAddresses, spare } = await this.store.load('aliases', 'siteAddresses', 'spare');
      const patch: Partial<Stored> = {};
      if (event === 'deleted' || event === 'expired') {
        delete aliases[alias.address];
        for (const [site, address] of Object.entries(siteAddresses)) if (address === alias.address) delete siteAddresses[site];
        patch.siteAddresses = siteAddresses;
        if (spare?.address === alias.address) patch.spare = null;
      } else aliases[alias.address] = alias;
      patch.aliases = aliases;
      await this.store.save(patch);
    });
  }

  /** The site a message belongs to: the relay's, or the one this extension gave the address. */
  async siteOfMessage(message: Pick<Summary, 'site' | 'alias'>): Promise<string | null> {
    if (message.site) return message.site;
    const { addressSites, aliases } = await this.store.load('addressSites', 'aliases');
    return addressSites[message.alias] ?? aliases[message.alias]?.site ?? null;
  }
}
