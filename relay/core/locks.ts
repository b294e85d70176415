// Background work that must run once however many relay nodes share the Store. LocalLocks is the
// one-node case (SQLite); store/postgres/locks.ts holds the advisory locks of a shared database.
// Exclusive runs a long-lived job (an upstream mailbox's puller) on the one node that holds its
// lock; the others stand by and take over when that node goes.
import type { HeldLock, Locks } from './ports.ts';

export class LocalLocks implements Locks {
  private tails = new Map<string, Promise<void>>();
  private held = new Set<string>();

  async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    const before = this.tails.get(name) ?? Promise.resolve();
    let done!: () => void;
    const tail = before.then(() => new Promise<void>((resolve) => (done = resolve)));
    this.tails.set(name, tail);
    await before;
    try {
      return await work();
    } finally {
      done();
      if (this.tails.get(name) === tail) this.tails.delete(name);
    }
  }

  async tryHold(name: string): Promise<HeldLock | null> {
    if (this.held.has(name)) return null;
    this.held.add(name);
    let end!: () => void;
    const lost = new Promise<void>((resolve) => (end = resolve));
    return {
      lost,
      release: async () => {
        if (this.held.delete(name)) end();
      },
    };
  }
}

/** A job that can be started once and stopped; a new one is made for each turn as holder. */
export interface ExclusiveJob {
  start(): void;
  stop(): Promise<void>;
}

export interface ExclusiveOptions {
  /** How often a node standing by tries to take the lock (default 5 s). */
  retryMs?: number;
  onError?: (err: unknown) => void;
  /** Told when this node starts or stops running the job. */
  onChange?: (running: boolean) => void;
}

export class Exclusive {
  private stopped = false;
  private wake: () => void = () => {};
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly locks: Locks,
    private readonly name: string,
    private readonly makeJob: () => ExclusiveJob,
    private readonly options: ExclusiveOptions = {},
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /** Stops the job if this node runs it, gives the lock up, and stops standing by. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    const stopping = new Promise<void>((resolve) => (this.wake = resolve));
    while (!this.stopped) {
      let held: HeldLock | null = null;
      try {
        held = await this.locks.tryHold(this.name);
      } catch (err) {
        this.options.onError?.(err);
      }
      if (held && !this.stopped) {
        const job = this.makeJob();
        job.start();
        this.options.onChange?.(true);
        // Until this node stops, or loses the lock with its connection (another node may then
        // take over, so the job must stop here).
        await Promise.race([held.lost, stopping]);
        await job.stop().catch((err: unknown) => this.options.onError?.(err));
        this.options.onChange?.(false);
      }
      await held?.release().catch((err: unknown) => this.options.onError?.(err));
      if (this.stopped) return;
      await Promise.race([stopping, new Promise<void>((resolve) => setTimeout(resolve, this.options.retryMs ?? 5000).unref())]);
    }
  }
}
