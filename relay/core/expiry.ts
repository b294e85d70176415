// Ends addresses at the end of their lifetime: their mail is deleted and an `expired` event goes
// out. A timer is set for the soonest expiry, so a short-lived address ends on time without
// polling; it never sleeps longer than a minute, so changes made elsewhere are picked up too.
// With several relay nodes each runs a timer, but sweeps take turns under one lock: an address is
// expired, and its `expired` event published, by one node only.
import type { Bus, Locks, Store } from './ports.ts';

const MAX_SLEEP_MS = 60_000;
const BATCH = 100;

export class ExpirySweeper {
  private timer: NodeJS.Timeout | null = null;
  private wakeAt = Infinity;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private store: Store,
    private bus: Bus,
    private onError: (err: unknown) => void,
    private locks?: Locks,
  ) {}

  start(): void {
    this.schedule(Date.now());
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Moves the timer earlier when a new lifetime ends sooner than the one it waits for. */
  notify(expiresAt: Date): void {
    if (expiresAt.getTime() < this.wakeAt) this.schedule(expiresAt.getTime());
  }

  /** Expires everything due now; resolves when done. */
  sweep(): Promise<void> {
    const work = () => this.expireDue();
    this.running ??= (this.locks ? this.locks.withLock('expiry', work) : work()).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private schedule(at: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.min(Math.max(at - Date.now(), 0), MAX_SLEEP_MS);
    this.wakeAt = Date.now() + delay;
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = null;
    this.wakeAt = Infinity;
    try {
      await this.sweep();
      const next = await this.store.nextExpiry();
      this.schedule(next ? next.getTime() : Date.now() + MAX_SLEEP_MS);
    } catch (err) {
      this.onError(err);
      this.schedule(Date.now() + 5_000);
    }
  }

  private async expireDue(): Promise<void> {
    for (;;) {
      const due = await this.store.listDueForExpiry(new Date(), BATCH);
      for (const alias of due) {
        const expired = await this.store.expireAlias(alias.id);
        if (expired) this.bus.publish({ type: 'alias', userId: expired.userId, event: 'expired', alias: expired });
      }
      if (due.length < BATCH) return;
    }
  }
}
