// A sliding-window limit per key: at most `count` events in any `windowSeconds`.
import type { Rate } from '../units.ts';

/** Past this many keys, keys with no recent events are forgotten, so memory stays bounded. */
const PRUNE_AT = 10_000;

export class RateLimiter {
  private log = new Map<string | number, number[]>();

  constructor(private rate: Rate) {}

  /** Without recording anything: 0 when another event would pass, else the seconds to wait. */
  isLimited(key: string | number, now = Date.now()): number {
    const windowMs = this.rate.windowSeconds * 1000;
    const recent = (this.log.get(key) ?? []).filter((t) => t > now - windowMs);
    if (recent.length > 0) this.log.set(key, recent);
    else this.log.delete(key);
    if (recent.length < this.rate.count) return 0;
    return Math.max(1, Math.ceil(((recent[0] as number) + windowMs - now) / 1000));
  }

  /** Records an event and returns 0, or returns the seconds to wait when over the limit. */
  take(key: string | number, now = Date.now()): number {
    const wait = this.isLimited(key, now);
    if (wait > 0) return wait;
    if (this.log.size >= PRUNE_AT) this.prune(now);
    this.log.set(key, [...(this.log.get(key) ?? []), now]);
    return 0;
  }

  private prune(now: number): void {
    const oldest = now - this.rate.windowSeconds * 1000;
    for (const [key, times] of this.log) if ((times[times.length - 1] ?? 0) <= oldest) this.log.delete(key);
  }
}
