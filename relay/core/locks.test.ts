import { describe, expect, it } from 'vitest';
import { Exclusive, LocalLocks } from './locks.ts';

describe('LocalLocks (one node)', () => {
  it('runs withLock work for one name one at a time, other names alongside', async () => {
    const locks = new LocalLocks();
    const log: string[] = [];
    const work = (name: string, ms: number) => async () => {
      log.push(`${name}+`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      log.push(`${name}-`);
      return name;
    };
    const results = await Promise.all([locks.withLock('a', work('a1', 30)), locks.withLock('a', work('a2', 1)), locks.withLock('b', work('b1', 1))]);
    expect(results).toEqual(['a1', 'a2', 'b1']);
    expect(log.indexOf('a2+')).toBeGreaterThan(log.indexOf('a1-'));
    expect(log.indexOf('b1-')).toBeLessThan(log.indexOf('a1-'));
    await expect(locks.withLock('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await locks.withLock('a', async () => 'after')).toBe('after');
  });

  it('holds a name for one holder until it is released', async () => {
    const locks = new LocalLocks();
    const held = await locks.tryHold('x');
    expect(held).not.toBeNull();
    expect(await locks.tryHold('x')).toBeNull();
    await held!.release();
    await held!.lost;
    expect(await locks.tryHold('x')).not.toBeNull();
  });

  it('runs an exclusive job at once on the only node, and stops it', async () => {
    let running = 0;
    const exclusive = new Exclusive(new LocalLocks(), 'job', () => ({ start: () => void running++, stop: async () => void running-- }));
    exclusive.start();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(running).toBe(1);
    await exclusive.stop();
    expect(running).toBe(0);
  });
});
