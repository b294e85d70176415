// Failed logins to the mail protocols (IMAP, POP3, submission) are slowed down: each failure for
// the same login name within a quarter hour doubles the wait before the refusal (from 250 ms up to
// 8 s), and a client address with too many failures in a minute is refused outright for a while.
// Memory stays bounded.
import { RateLimiter } from './rate-limit.ts';

const WINDOW_MS = 15 * 60_000;
const BASE_DELAY_MS = 250;
const MAX_DELAY_MS = 8_000;
const MAX_NAMES = 10_000;

export interface ThrottleOptions {
  /** Failed logins one client address may make per minute before it is refused. */
  perAddressPerMinute?: number;
  baseDelayMs?: number;
}

export class LoginThrottle {
  private byName = new Map<string, number[]>();
  private byAddress: RateLimiter;
  private baseDelay: number;

  constructor(options: ThrottleOptions = {}) {
    this.byAddress = new RateLimiter({ count: options.perAddressPerMinute ?? 30, windowSeconds: 60 });
    this.baseDelay = options.baseDelayMs ?? BASE_DELAY_MS;
  }

  /** Seconds this client address must wait before trying again; 0 when it may try now. */
  blocked(remote: string): number {
    return this.byAddress.isLimited(remote);
  }

  /** Records a failure; returns how long to wait before answering it. */
  failed(login: string, remote: string, now = Date.now()): number {
    this.byAddress.take(remote, now);
    const key = login.toLowerCase().slice(0, 320);
    const recent = (this.byName.get(key) ?? []).filter((t) => t > now - WINDOW_MS);
    recent.push(now);
    if (this.byName.size >= MAX_NAMES && !this.byName.has(key)) this.prune(now);
    this.byName.set(key, recent.slice(-32));
    return Math.min(MAX_DELAY_MS, this.baseDelay * 2 ** (recent.length - 1));
  }

  succeeded(login: string): void {
    this.byName.delete(login.toLowerCase());
  }

  private prune(now: number): void {
    for (const [key, times] of this.byName) if ((times.at(-1) ?? 0) <= now - WINDOW_MS) this.byName.delete(key);
    // Still full: forget the oldest entries rather than grow.
    for (const key of this.byName.keys()) {
      if (this.byName.size < MAX_NAMES) break;
      this.byName.delete(key);
    }
  }
}
