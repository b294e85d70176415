// --alias-rate-limit COUNT/DURATION (and WISP_ALIAS_RATE_LIMIT): a user making addresses
// faster gets 429 with a JSON error, nothing is made, other users and other requests go on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alias } from '../../shared/api.ts';
import { addUser, allAliases, api, createAlias, enc, sleep, startRelay } from '../support/relay.ts';
import type { Relay } from '../support/relay.ts';

let relay: Relay;
const others: Relay[] = [];

beforeAll(async () => {
  relay = await startRelay({ args: ['--alias-rate-limit', '3/2s'] });
});

afterAll(async () => {
  await Promise.all(others.map((r) => r.stop()));
  await relay?.stop();
});

async function count(r: Relay, token = r.token): Promise<number> {
  return (await allAliases(r, token)).length;
}

describe('alias rate limit', () => {
  it('COUNT addresses in the window, then 429 {"error"}; other users and other requests are unaffected; the window passes', async () => {
    const made: Alias[] = [];
    for (let i = 0; i < 3; i++) made.push(await createAlias(relay, { site: `rl${i}.test` }));
    const lastOk = Date.now();

    const refused = await api(relay, 'POST', '/api/aliases', { site: 'rl-over.test' });
    expect(refused.status, refused.text).toBe(429);
    expect(refused.json).toBe(true);
    expect(typeof (refused.body as { error?: unknown }).error).toBe('string');
    expect(await count(relay)).toBe(3);

    // reading and changing existing addresses is not limited
    for (let i = 0; i < 5; i++) expect((await api(relay, 'GET', '/api/aliases')).status).toBe(200);
    expect((await api(relay, 'PATCH', `/api/aliases/${enc(made[0]!.address)}`, { label: 'still fine' })).status).toBe(200);

    // the limit is per user
    const tokenB = await addUser(relay, `rlbob${Date.now()}`);
    for (let i = 0; i < 3; i++) await createAlias(relay, { site: `rlb${i}.test` }, tokenB);
    expect((await api(relay, 'POST', '/api/aliases', { site: 'rlb-over.test' }, tokenB)).status).toBe(429);

    // a refused request does not extend the window: once 2 s have passed since the last success, it works
    await sleep(Math.max(0, lastOk + 2000 + 300 - Date.now()));
    const again = await api(relay, 'POST', '/api/aliases', { site: 'rl-later.test' });
    expect(again.status, again.text).toBe(201);
    expect(await count(relay)).toBe(4);
  });

  it('WISP_ALIAS_RATE_LIMIT sets it too', async () => {
    const r = await startRelay({ env: { WISP_ALIAS_RATE_LIMIT: '1/1h' } });
    others.push(r);
    await createAlias(r, { site: 'env-rl.test' });
    const refused = await api(r, 'POST', '/api/aliases', { site: 'env-rl2.test' });
    expect(refused.status).toBe(429);
    expect(typeof (refused.body as { error?: unknown }).error).toBe('string');
  });
});
