// /api/messages: stored mail, listed as summaries; bodies only on the detail and raw routes.
import type { Messages } from '../../core/messages.ts';
import { messageToWire } from '../../core/wire.ts';
import type { Route } from '../router.ts';

export function messageRoutes(messages: Messages): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/api/messages',
      handler: async ({ user, url }) => {
        const q = url.searchParams;
        const get = (name: string) => q.get(name) ?? undefined;
        const page = await messages.list(user, { alias: get('alias'), since: get('since'), limit: get('limit'), cursor: get('cursor') });
        return { status: 200, json: { messages: page.items.map(messageToWire), next: page.next } };
      },
    },
    {
      method: 'GET',
      pattern: '/api/messages/{id}',
      handler: async ({ user, params }) => ({ status: 200, json: await messages.detail(user, params.id as string) }),
    },
    {
      method: 'GET',
      pattern: '/api/messages/{id}/raw',
      handler: async ({ user, params }) => ({ status: 200, text: await messages.raw(user, params.id as string), type: 'message/rfc822' }),
    },
    {
      method: 'PATCH',
      pattern: '/api/messages/{id}',
      handler: async ({ user, params, body }) => {
        const { seen } = await body();
        return { status: 200, json: messageToWire(await messages.setSeen(user, params.id as string, seen)) };
      },
    },
    {
      method: 'DELETE',
      pattern: '/api/messages/{id}',
      handler: async ({ user, params }) => {
        await messages.remove(user, params.id as string);
        return { status: 204 };
      },
    },
  ];
}
