// /api/aliases: the user's disposable addresses.
import type { Aliases } from '../../core/aliases.ts';
import { parseCursor, parseLimit } from '../../core/messages.ts';
import { aliasToWire } from '../../core/wire.ts';
import type { Route } from '../router.ts';

export function aliasRoutes(aliases: Aliases): Route[] {
  return [
    {
      method: 'POST',
      pattern: '/api/aliases',
      handler: async ({ user, body }) => ({ status: 201, json: aliasToWire(await aliases.create(user, await body())) }),
    },
    {
      method: 'GET',
      pattern: '/api/aliases',
      handler: async ({ user, url }) => {
        const q = url.searchParams;
        const page = await aliases.list(user, { cursor: parseCursor(q.get('cursor') ?? undefined), limit: parseLimit(q.get('limit') ?? undefined) });
        return { status: 200, json: { aliases: page.items.map(aliasToWire), next: page.next } };
      },
    },
    {
      method: 'GET',
      pattern: '/api/aliases/{address}',
      handler: async ({ user, params }) => ({ status: 200, json: aliasToWire(await aliases.get(user, params.address as string)) }),
    },
    {
      method: 'PATCH',
      pattern: '/api/aliases/{address}',
      handler: async ({ user, params, body }) => ({ status: 200, json: aliasToWire(await aliases.update(user, params.address as string, await body())) }),
    },
    {
      method: 'DELETE',
      pattern: '/api/aliases/{address}',
      handler: async ({ user, params }) => {
        await aliases.remove(user, params.address as string);
        return { status: 204 };
      },
    },
  ];
}
