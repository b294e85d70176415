// What the relay nodes sharing one Store work together through: the event bus and the locks that
// keep background work (expiry, upstream pulls) to one node at a time. On SQLite there is one node,
// so these are in-process; on PostgreSQL events cross nodes with LISTEN/NOTIFY and locks are
// advisory locks of the shared database.
import { InProcessBus } from './core/events.ts';
import { LocalLocks } from './core/locks.ts';
import type { Bus, Locks, Store } from './core/ports.ts';
import { isPostgresUrl } from './store/open.ts';
import type { Logger } from './log.ts';

export interface Cluster {
  bus: Bus;
  locks: Locks;
  close(): Promise<void>;
}

export async function joinCluster(dbUrl: string, store: Store, log: Logger): Promise<Cluster> {
  const onListenerError = (err: unknown) => log.error({ err }, 'event listener failed');
  if (!isPostgresUrl(dbUrl)) return { bus: new InProcessBus(onListenerError), locks: new LocalLocks(), close: async () => {} };
  // Loaded only for PostgreSQL, like the store itself.
  const [{ PostgresBus }, { PostgresLocks }, { PostgresStore }] = await Promise.all([
    import('./bus/postgres.ts'),
    import('./store/postgres/locks.ts'),
    import('./store/postgres/store.ts'),
  ]);
  if (!(store instanceof PostgresStore)) throw new Error('a postgres:// URL opened a store that is not the PostgreSQL one');
  const shared = store;
  const bus = new PostgresBus(shared, {
    log,
    onListenerError,
    reconnectBaseMs: Number(process.env.WISP_BUS_RECONNECT_MS) || undefined,
  });
  await bus.start();
  return { bus, locks: new PostgresLocks(shared), close: () => bus.close() };
}
