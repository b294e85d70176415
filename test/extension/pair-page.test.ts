// The relay's /pair page: public, holds no secret, strict CSP, no inline script, no referrer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay } from '../support/relay.ts';
import type { Relay } from '../support/relay.ts';
import { pairBase } from '../e2e/pair-proxy.ts';
import type { PairFront } from '../e2e/pair-proxy.ts';

let relay: Relay;
let front: PairFront;

beforeAll(async () => {
  relay = await startRelay();
  front = await pairBase(relay.http);
});
afterAll(async () => {
  await front?.close();
  await relay?.stop();
});

describe('/pair', () => {
  it('serves a page that marks itself for the extension and carries no secret', async () => {
    const res = await fetch(`${front.url}/pair`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).toContain('<meta name="wisp-pairing"');
    expect(html).toContain('id="wisp-token"');
    expect(html).toContain('id="wisp-pair-extension"');
    // Every script is a file: nothing inline for the CSP to allow.
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/\ssrc=/);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toContain(relay.token);
  });

  it('serves its script and style as files with the right types', async () => {
    const js = await fetch(`${front.url}/pair.js`);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await js.text()).toContain('/api/aliases?limit=1');
    const css = await fetch(`${front.url}/pair.css`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('reveals nothing without a good token: the check goes through the API', async () => {
    const bad = await fetch(`${front.url}/api/aliases?limit=1`, { headers: { authorization: 'Bearer nope' } });
    expect(bad.status).toBe(401);
    const good = await fetch(`${front.url}/api/aliases?limit=1`, { headers: { authorization: `Bearer ${relay.token}` } });
    expect(good.status).toBe(200);
  });
});
