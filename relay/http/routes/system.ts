// Health and metrics: unauthenticated, and free of any user's data.
import type { Store } from '../../core/ports.ts';
import type { Metrics } from '../../metrics.ts';
import { HttpError } from '../errors.ts';
import type { Route } from '../router.ts';

export function systemRoutes(store: Store, metrics: Metrics): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/healthz',
      public: true,
      handler: async () => {
        try {
          await store.ping();
        } catch {
          throw new HttpError(503, 'The store does not answer.');
        }
        return { status: 200, json: { ok: true } };
      },
    },
    {
      method: 'GET',
      pattern: '/metrics',
      public: true,
      handler: async () => ({ status: 200, text: await metrics.registry.metrics(), type: metrics.registry.contentType }),
    },
  ];
}
