import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from './open.ts';

const dir = mkdtempSync(join(tmpdir(), 'wisp-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openStore', () => {
  it.each([
    ['sqlite:', join(dir, 'a.db')],
    ['sqlite://', join(dir, 'b.db')],
    ['', join(dir, 'c.db')],
  ])('opens SQLite from %s<path>', async (prefix, file) => {
    const store = await openStore(prefix + file);
    await store.createUser('u', new Date(0));
    await store.close();
    const again = await openStore(file);
    expect(await again.countUsers()).toBe(1);
    await again.close();
  });

  it('opens an in-memory SQLite store', async () => {
    const store = await openStore('sqlite::memory:');
    await expect(store.ping()).resolves.toBeUndefined();
    await store.close();
  });

  it.each(['postgres://wisp:secret@db/wisp', 'postgresql://db/wisp'])('says PostgreSQL is not available yet: %s', async (url) => {
    await expect(openStore(url)).rejects.toThrow('PostgreSQL storage is not available in this build yet');
  });

  it('rejects other schemes without echoing the URL', async () => {
    const error = await openStore('mysql://root:hunter2@db/wisp').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/mysql/);
    expect((error as Error).message).not.toMatch(/hunter2/);
  });

  it('rejects a URL without a path', async () => {
    await expect(openStore('sqlite:')).rejects.toThrow(/names no database file/);
    await expect(openStore('')).rejects.toThrow(/names no database file/);
  });
});
