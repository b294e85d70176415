import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.ts';

describe('RateLimiter', () => {
  it('allows `count` events per window per key, then says how long to wait', () => {
    const limiter = new RateLimiter({ count: 3, windowSeconds: 60 });
    const t0 = 1_000_000;
    expect([limiter.take('a', t0), limiter.take('a', t0 + 1), limiter.take('a', t0 + 2)]).toEqual([0, 0, 0]);
    expect(limiter.take('a', t0 + 1000)).toBe(59);
    expect(limiter.take('b', t0 + 1000)).toBe(0);
    expect(limiter.isLimited('a', t0 + 1000)).toBe(59);
    // The window slides: the first event leaves it after 60 s.
    expect(limiter.take('a', t0 + 60_001)).toBe(0);
  });

  it('does not count a refused event', () => {
    const limiter = new RateLimiter({ count: 1, windowSeconds: 10 });
    expect(limiter.take('k', 0)).toBe(0);
    for (let i = 1; i < 50; i++) limiter.take('k', i * 100);
    expect(limiter.take('k', 10_001)).toBe(0);
  });
});
