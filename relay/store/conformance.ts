// Behaviour every Store backend must show. Each backend's test file runs
//   storeSuite('sqlite', () => openSqliteStore(tempFile()), { reopen })
// and a new backend is done when this passes unchanged. Tests speak only through the Store
// interface: nothing here may know which database is underneath.
import { afterEach, describe, expect, it } from 'vitest';
import {
  AddressTakenError,
  type AliasRecord,
  type MessageRecord,
  type NewMessage,
  type Store,
  type User,
} from '../core/ports.ts';
import { prng } from '../../test/support/prng.ts';

export interface StoreSuiteOptions {
  /**
   * Opens again, after `closed` was closed, the same database it used. Without it the tests that
   * check what survives a restart are skipped.
   */
  reopen?: (closed: Store) => Promise<Store>;
}

/** A fixed instant keeps the tests independent of the clock. */
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const at = (seconds: number): Date => new Date(T0 + seconds * 1000);

/** Every byte value, CRLF, and sequences that are not valid UTF-8. */
function awkwardBytes(tag: number): Buffer {
  const all = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  return Buffer.concat([
    Buffer.from(`Subject: ${tag}\r\n\r\n`),
    all,
    Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0xe2, 0x82, 0xa0, 0xed, 0xa0, 0x80, 0x80, 0x0d, 0x0a]),
    Buffer.from(`end ${tag}\r\n`),
  ]);
}

export function storeSuite(name: string, open: () => Promise<Store>, options: StoreSuiteOptions = {}): void {
  describe(`Store conformance: ${name}`, () => {
    const live = new Set<Store>();

    /** `open()` must hand out an empty store each time. */
    async function fresh(): Promise<Store> {
      const store = await open();
      live.add(store);
      return store;
    }

    async function close(store: Store): Promise<void> {
      live.delete(store);
      await store.close();
    }

    async function reopen(store: Store): Promise<Store> {
      await close(store);
      const again = await options.reopen!(store);
      live.add(again);
      return again;
    }

    afterEach(async () => {
      const stores = [...live];
      live.clear();
      await Promise.all(stores.map((s) => s.close()));
    });

    interface World {
      store: Store;
      alice: User;
      bob: User;
      /** Two addresses of Alice's, one of Bob's. */
      a1: AliasRecord;
      a2: AliasRecord;
      b1: AliasRecord;
    }

    async function world(): Promise<World> {
      const store = await fresh();
      const alice = await store.createUser('alice', at(0));
      const bob = await store.createUser('bob', at(1));
      const alias = (userId: number, address: string, site: string | null) =>
        store.createAlias({ userId, address, site, label: null, createdAt: at(2), expiresAt: null });
      const a1 = await alias(alice.id, 'a1x9k2@wisp.test', 'github.com');
      const a2 = await alias(alice.id, 'a2m3p7@wisp.test', null);
      const b1 = await alias(bob.id, 'b1q8z4@wisp.test', 'example.org');
      return { store, alice, bob, a1, a2, b1 };
    }

    function message(alias: AliasRecord, seconds: number, extra: Partial<NewMessage> = {}): NewMessage {
      return {
        userId: alias.userId,
        aliasId: alias.id,
        receivedAt: at(seconds),
        raw: Buffer.from(`From: x@sender.test\r\nSubject: t${seconds}\r\n\r\nbody ${seconds}\r\n`),
        mailFrom: 'bounce@sender.test',
        from: 'Sender <x@sender.test>',
        subject: `t${seconds}`,
        preview: `body ${seconds}`,
        code: null,
        link: null,
        ...extra,
      };
    }

    async function save(store: Store, m: NewMessage): Promise<number> {
      const [id] = await store.saveMessages([m]);
      return id!;
    }

    /** Follows `next` to the end; fails on a runaway listing. */
    async function allPages(
      store: Store,
      userId: number,
      query: { aliasId?: number; since?: Date; limit: number },
    ): Promise<{ ids: number[]; pages: number[] }> {
      const ids: number[] = [];
      const pages: number[] = [];
      let cursor: string | undefined;
      for (let guard = 0; guard < 1000; guard++) {
        const page = await store.listMessages(userId, { ...query, ...(cursor === undefined ? {} : { cursor }) });
        ids.push(...page.items.map((m) => m.id));
        pages.push(page.items.length);
        if (page.next === null) return { ids, pages };
        cursor = page.next;
      }
      throw new Error('listing never ended');
    }

    describe('users and tokens', () => {
      it('answers ping', async () => {
        const store = await fresh();
        await expect(store.ping()).resolves.toBeUndefined();
      });

      it('creates and finds users', async () => {
        const store = await fresh();
        const created = await store.createUser('alice', new Date(T0 + 123));
        expect(created).toEqual({ id: expect.any(Number), name: 'alice', createdAt: new Date(T0 + 123) });
        expect(await store.getUserByName('alice')).toEqual(created);
        expect(await store.getUserById(created.id)).toEqual(created);
        expect(await store.getUserByName('nobody')).toBeNull();
        expect(await store.getUserById(created.id + 1000)).toBeNull();
        expect(await store.countUsers()).toBe(1);
      });

      it('refuses a second user with the same name', async () => {
        const store = await fresh();
        await store.createUser('alice', at(0));
        await expect(store.createUser('alice', at(1))).rejects.toThrow();
        expect(await store.countUsers()).toBe(1);
      });

      it('lists users with their address and message counts', async () => {
        const { store, alice, bob, a1, a2 } = await world();
        await store.saveMessages([message(a1, 10), message(a1, 11), message(a2, 12)]);
        const carol = await store.createUser('carol', at(3));
        const listing = await store.listUsers();
        expect(listing.map((u) => [u.name, u.aliasCount, u.messageCount])).toEqual([
          ['alice', 2, 3],
          ['bob', 1, 0],
          ['carol', 0, 0],
        ]);
        expect(listing.map((u) => u.id)).toEqual([alice.id, bob.id, carol.id]);
        expect(await store.countUsers()).toBe(3);
      });

      it('finds a user by token hash', async () => {
        const { store, alice, bob } = await world();
        await store.addToken(alice.id, 'hash-a', at(5));
        await store.addToken(alice.id, 'hash-a2', at(6));
        await store.addToken(bob.id, 'hash-b', at(5));
        expect(await store.findUserByTokenHash('hash-a')).toEqual(alice);
        expect(await store.findUserByTokenHash('hash-a2')).toEqual(alice);
        expect(await store.findUserByTokenHash('hash-b')).toEqual(bob);
        expect(await store.findUserByTokenHash('hash-x')).toBeNull();
      });

      it('deletes a user with its tokens, addresses and mail, and nobody else’s', async () => {
        const { store, alice, bob, a1, a2, b1 } = await world();
        await store.addToken(alice.id, 'hash-a', at(5));
        await store.addToken(bob.id, 'hash-b', at(5));
        const [m1, m2] = await store.saveMessages([message(a1, 10), message(a2, 11)]);
        const mb = await save(store, message(b1, 12));

        expect(await store.deleteUser('alice')).toBe(true);
        expect(await store.deleteUser('alice')).toBe(false);
        expect(await store.deleteUser('nobody')).toBe(false);

        expect(await store.getUserByName('alice')).toBeNull();
        expect(await store.getUserById(alice.id)).toBeNull();
        expect(await store.findUserByTokenHash('hash-a')).toBeNull();
        expect(await store.getAlias(a1.address)).toBeNull();
        expect(await store.getAliasById(a2.id)).toBeNull();
        expect(await store.getMessage(alice.id, m1!)).toBeNull();
        expect(await store.getRaw(alice.id, m2!)).toBeNull();
        expect((await store.listMessages(alice.id, { limit: 10 })).items).toEqual([]);
        expect(await store.listMessagesAfter(alice.id, 0, 10)).toEqual([]);

        expect(await store.findUserByTokenHash('hash-b')).toEqual(bob);
        expect((await store.getMessage(bob.id, mb))?.id).toBe(mb);
        expect(await store.countUsers()).toBe(1);
        // The address is free again.
        const again = await store.createAlias({ ...a1, userId: bob.id });
        expect(again.userId).toBe(bob.id);
        expect(again.messageCount).toBe(0);
      });

      it('never gives a deleted user’s id to a new user', async () => {
        const store = await fresh();
        const a = await store.createUser('a', at(0));
        const b = await store.createUser('b', at(0));
        await store.deleteUser('b');
        const c = await store.createUser('c', at(0));
        expect(c.id).not.toBe(b.id);
        expect(c.id).not.toBe(a.id);
      });
    });

    describe('addresses', () => {
      it('creates an address with every field and finds it by address and id', async () => {
        const { store, alice } = await world();
        const created = await store.createAlias({
          userId: alice.id,
          address: 'k3j9w2@wisp.test',
          site: 'google.com',
          label: 'Work ✉ account',
          createdAt: new Date(T0 + 7),
          expiresAt: new Date(T0 + 86_400_007),
        });
        expect(created).toEqual({
          id: expect.any(Number),
          userId: alice.id,
          address: 'k3j9w2@wisp.test',
          site: 'google.com',
          label: 'Work ✉ account',
          active: true,
          createdAt: new Date(T0 + 7),
          expiresAt: new Date(T0 + 86_400_007),
          expired: false,
          messageCount: 0,
          lastMessageAt: null,
        });
        expect(await store.getAlias('k3j9w2@wisp.test')).toEqual(created);
        expect(await store.getAliasById(created.id)).toEqual(created);
        expect(await store.getAlias('nope@wisp.test')).toBeNull();
        expect(await store.getAliasById(created.id + 1000)).toBeNull();
      });

      it('keeps addresses lowercase and matches them without regard to case', async () => {
        const { store, alice } = await world();
        const created = await store.createAlias({
          userId: alice.id,
          address: 'MiXed7@Wisp.Test',
          site: null,
          label: null,
          createdAt: at(3),
          expiresAt: null,
        });
        expect(created.address).toBe('mixed7@wisp.test');
        expect((await store.getAlias('MIXED7@WISP.TEST'))?.id).toBe(created.id);
      });

      it('refuses a taken address with AddressTakenError, whoever holds it', async () => {
        const { store, alice, bob, a1 } = await world();
        const again = { userId: alice.id, address: a1.address, site: null, label: null, createdAt: at(3), expiresAt: null };
        await expect(store.createAlias(again)).rejects.toBeInstanceOf(AddressTakenError);
        await expect(store.createAlias({ ...again, userId: bob.id })).rejects.toBeInstanceOf(AddressTakenError);
        await expect(store.createAlias({ ...again, address: a1.address.toUpperCase() })).rejects.toBeInstanceOf(
          AddressTakenError,
        );
        expect(await store.getAlias(a1.address)).toEqual(a1);
      });

      it('updates only the fields in the patch', async () => {
        const { store, a1 } = await world();
        const labelled = await store.updateAlias(a1.id, { label: 'shopping' });
        expect(labelled).toEqual({ ...a1, label: 'shopping' });
        const off = await store.updateAlias(a1.id, { active: false });
        expect(off).toEqual({ ...a1, label: 'shopping', active: false });
        const timed = await store.updateAlias(a1.id, { expiresAt: at(99), label: null });
        expect(timed).toEqual({ ...a1, label: null, active: false, expiresAt: at(99) });
        const forever = await store.updateAlias(a1.id, { expiresAt: null, active: true });
        expect(forever).toEqual({ ...a1, label: null, active: true, expiresAt: null });
        expect(await store.updateAlias(a1.id, {})).toEqual(forever);
        expect(await store.getAliasById(a1.id)).toEqual(forever);
        expect(await store.updateAlias(a1.id + 1000, { label: 'x' })).toBeNull();
      });

      it('gives a site to an address without one, and never replaces a site', async () => {
        const { store, alice, a1 } = await world();
        const spare = await store.createAlias({ userId: alice.id, address: 'spare.k2@wisp.test', site: null, label: null, createdAt: at(5), expiresAt: null });
        expect((await store.updateAlias(spare.id, { site: 'shop.test' }))?.site).toBe('shop.test');
        expect((await store.updateAlias(spare.id, { site: 'other.test' }))?.site).toBe('shop.test');
        expect((await store.updateAlias(a1.id, { site: 'other.test' }))?.site).toBe('github.com');
      });

      it('deletes an address with its mail', async () => {
        const { store, alice, a1, a2 } = await world();
        const [gone] = await store.saveMessages([message(a1, 10)]);
        const kept = await save(store, message(a2, 11));
        expect(await store.deleteAlias(a1.id)).toBe(true);
        expect(await store.deleteAlias(a1.id)).toBe(false);
        expect(await store.getAlias(a1.address)).toBeNull();
        expect(await store.getMessage(alice.id, gone!)).toBeNull();
        expect(await store.getRaw(alice.id, gone!)).toBeNull();
        expect((await store.listMessages(alice.id, { limit: 10 })).items.map((m) => m.id)).toEqual([kept]);
        expect((await store.listUsers())[0]?.messageCount).toBe(1);
      });

      it('lists a user’s addresses newest first, page by page', async () => {
        const { store, alice, bob, a1, a2 } = await world();
        const more: AliasRecord[] = [];
        for (let i = 0; i < 5; i++) {
          more.push(
            await store.createAlias({
              userId: alice.id,
              address: `p${i}q7r2@wisp.test`,
              site: null,
              label: null,
              createdAt: at(10 + i),
              expiresAt: null,
            }),
          );
        }
        const expected = [a1, a2, ...more].reverse().map((a) => a.id);
        const seen: number[] = [];
        const sizes: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listAliases(alice.id, { limit: 3, ...(cursor === undefined ? {} : { cursor }) });
          seen.push(...page.items.map((a) => a.id));
          sizes.push(page.items.length);
          expect(page.items.every((a) => a.userId === alice.id)).toBe(true);
          cursor = page.next ?? undefined;
        } while (cursor !== undefined);
        expect(seen).toEqual(expected);
        expect(sizes).toEqual([3, 3, 1]);
        const exact = await store.listAliases(bob.id, { limit: 1 });
        expect(exact.items.map((a) => a.userId)).toEqual([bob.id]);
        expect(exact.next).toBeNull();
        expect(await store.listAliases(bob.id + 1000, { limit: 5 })).toEqual({ items: [], next: null });
      });

      it('keeps each address’s message count and last arrival', async () => {
        const { store, alice, a1, a2 } = await world();
        const [late, early] = await store.saveMessages([message(a1, 30), message(a1, 10)]);
        await save(store, message(a2, 20));
        let alias = await store.getAliasById(a1.id);
        expect([alias?.messageCount, alias?.lastMessageAt]).toEqual([2, at(30)]);

        expect(await store.deleteMessage(alice.id, late!)).toBe(true);
        alias = await store.getAliasById(a1.id);
        expect([alias?.messageCount, alias?.lastMessageAt]).toEqual([1, at(10)]);

        const newer = await save(store, message(a1, 40));
        alias = await store.getAliasById(a1.id);
        expect([alias?.messageCount, alias?.lastMessageAt]).toEqual([2, at(40)]);

        await store.deleteMessage(alice.id, early!);
        alias = await store.getAliasById(a1.id);
        expect([alias?.messageCount, alias?.lastMessageAt]).toEqual([1, at(40)]);
        await store.deleteMessage(alice.id, newer);
        alias = await store.getAliasById(a1.id);
        expect([alias?.messageCount, alias?.lastMessageAt]).toEqual([0, null]);

        // The other address was never touched, and the listing counts agree.
        const other = await store.getAliasById(a2.id);
        expect([other?.messageCount, other?.lastMessageAt]).toEqual([1, at(20)]);
        const page = await store.listAliases(alice.id, { limit: 10 });
        expect(page.items.map((a) => a.messageCount)).toEqual([1, 0]);
      });
    });

    describe('messages', () => {
      it('saves messages and reads back every summary field', async () => {
        const { store, alice, a1 } = await world();
        const input = message(a1, 10, {
          from: 'Ünïcødé Sender <x@sender.test>',
          subject: 'Your code 🔐 is 123456',
          preview: 'Use 123456 to sign in',
          code: '123456',
          link: 'https://github.com/confirm?t=abc&x=1',
          mailFrom: '',
        });
        const ids = await store.saveMessages([input, message(a1, 11)]);
        expect(ids).toHaveLength(2);
        expect(ids[1]!).toBeGreaterThan(ids[0]!);
        const got = await store.getMessage(alice.id, ids[0]!);
        expect(got).toEqual({
          id: ids[0]!,
          userId: alice.id,
          aliasId: a1.id,
          alias: a1.address,
          site: 'github.com',
          receivedAt: at(10),
          size: input.raw.length,
          seen: false,
          from: input.from,
          subject: input.subject,
          preview: input.preview,
          code: '123456',
          link: input.link,
        } satisfies MessageRecord);
        expect(await store.getMessage(alice.id, ids[1]! + 1000)).toBeNull();
        expect(await store.getRaw(alice.id, ids[1]! + 1000)).toBeNull();
        expect(await store.saveMessages([])).toEqual([]);
      });

      it('returns raw bytes exactly as saved, including bytes that are not UTF-8', async () => {
        const { store, alice, a1 } = await world();
        const small = awkwardBytes(1);
        const big = Buffer.alloc(2 * 1024 * 1024 + 3);
        const rand = prng(7);
        for (let i = 0; i < big.length; i++) big[i] = Math.floor(rand() * 256);
        const [s, b] = await store.saveMessages([message(a1, 1, { raw: small }), message(a1, 2, { raw: big })]);
        const rawS = await store.getRaw(alice.id, s!);
        const rawB = await store.getRaw(alice.id, b!);
        expect(Buffer.isBuffer(rawS)).toBe(true);
        expect(rawS!.equals(small)).toBe(true);
        expect(rawB!.equals(big)).toBe(true);
        expect((await store.getMessage(alice.id, b!))?.size).toBe(big.length);
      });

      it('marks messages seen and unseen', async () => {
        const { store, alice, a1 } = await world();
        const id = await save(store, message(a1, 10));
        expect((await store.setSeen(alice.id, id, true))?.seen).toBe(true);
        expect((await store.getMessage(alice.id, id))?.seen).toBe(true);
        expect((await store.setSeen(alice.id, id, false))?.seen).toBe(false);
        expect((await store.listMessages(alice.id, { limit: 1 })).items[0]?.seen).toBe(false);
        expect(await store.setSeen(alice.id, id + 1000, true)).toBeNull();
      });

      it('stores all of a call or none of it', async () => {
        const { store, alice, a1, b1 } = await world();
        await expect(store.saveMessages([message(a1, 10), { ...message(a1, 11), aliasId: a1.id + 1000 }])).rejects.toThrow();
        // A message must belong to the user who owns its address.
        await expect(store.saveMessages([{ ...message(b1, 12), userId: alice.id }])).rejects.toThrow();
        expect((await store.listMessages(alice.id, { limit: 10 })).items).toEqual([]);
        expect((await store.getAliasById(a1.id))?.messageCount).toBe(0);
        expect((await store.getAliasById(b1.id))?.messageCount).toBe(0);
        // The store still works afterwards.
        expect(await store.saveMessages([message(a1, 13)])).toHaveLength(1);
      });

      it('never reuses the id of a deleted message', async () => {
        const { store, alice, a1 } = await world();
        const ids = await store.saveMessages([message(a1, 1), message(a1, 2), message(a1, 3)]);
        const newest = ids[2]!;
        expect(await store.deleteMessage(alice.id, newest)).toBe(true);
        expect(await store.deleteMessage(alice.id, newest)).toBe(false);
        const next = await save(store, message(a1, 4));
        expect(next).toBeGreaterThan(newest);
      });

      it('pages newest first with no duplicates or gaps, and ends with next: null', async () => {
        const { store, alice, bob, a1, a2, b1 } = await world();
        const mine: number[] = [];
        for (let i = 0; i < 25; i++) {
          mine.push(await save(store, message(i % 2 ? a1 : a2, i)));
          await save(store, message(b1, i)); // interleaved mail of somebody else
        }
        const expected = [...mine].reverse();
        for (const limit of [1, 7, 25, 26, 100]) {
          const { ids, pages } = await allPages(store, alice.id, { limit });
          expect(ids).toEqual(expected);
          expect(pages.slice(0, -1).every((n) => n === limit)).toBe(true);
          expect(pages.at(-1)).toBeGreaterThan(0); // never an empty last page
        }
        // An exact multiple: the fifth page is the last one and says so.
        const { pages } = await allPages(store, bob.id, { limit: 5 });
        expect(pages).toEqual([5, 5, 5, 5, 5]);
      });

      it('keeps its place when mail arrives between pages', async () => {
        const { store, alice, a1 } = await world();
        const ids = await store.saveMessages(Array.from({ length: 12 }, (_, i) => message(a1, i)));
        const first = await store.listMessages(alice.id, { limit: 5 });
        await store.saveMessages([message(a1, 100), message(a1, 101), message(a1, 102)]);
        await store.deleteMessage(alice.id, ids[11]!); // already listed
        const second = await store.listMessages(alice.id, { limit: 5, cursor: first.next! });
        const third = await store.listMessages(alice.id, { limit: 5, cursor: second.next! });
        expect([...first.items, ...second.items, ...third.items].map((m) => m.id)).toEqual([...ids].reverse());
        expect(third.next).toBeNull();
      });

      it('filters by address and by arrival time', async () => {
        const { store, alice, a1, a2, b1 } = await world();
        for (let i = 1; i <= 10; i++) await store.saveMessages([message(a1, i * 10), message(a2, i * 10 + 5)]);
        await save(store, message(b1, 500));

        const byAlias = await allPages(store, alice.id, { aliasId: a1.id, limit: 3 });
        expect(byAlias.ids).toHaveLength(10);
        for (const id of byAlias.ids) expect((await store.getMessage(alice.id, id))?.aliasId).toBe(a1.id);

        // Strictly after `since`.
        const recent = await store.listMessages(alice.id, { since: at(80), limit: 100 });
        expect(recent.items.map((m) => m.receivedAt.getTime() - T0)).toEqual([105_000, 100_000, 95_000, 90_000, 85_000]);
        const both = await allPages(store, alice.id, { aliasId: a2.id, since: at(55), limit: 2 });
        expect(both.ids).toHaveLength(5);
        expect(both.pages).toEqual([2, 2, 1]);
        expect((await store.listMessages(alice.id, { since: at(10_000), limit: 5 })).items).toEqual([]);
        // Somebody else's address yields nothing, not their mail.
        expect((await store.listMessages(alice.id, { aliasId: b1.id, limit: 5 })).items).toEqual([]);
      });

      it('agrees with a simple model on random listings', async () => {
        const { store, alice, a1, a2, b1 } = await world();
        const rand = prng(42);
        const model: { id: number; userId: number; aliasId: number; t: number }[] = [];
        for (let i = 0; i < 80; i++) {
          const alias = [a1, a2, b1][Math.floor(rand() * 3)]!;
          // Arrival times are not in id order: clocks and retries do that.
          const t = Math.floor(rand() * 1000);
          model.push({ id: await save(store, message(alias, t)), userId: alias.userId, aliasId: alias.id, t });
        }
        for (let round = 0; round < 25; round++) {
          const aliasId = rand() < 0.5 ? undefined : [a1, a2][Math.floor(rand() * 2)]!.id;
          const sinceT = rand() < 0.5 ? undefined : Math.floor(rand() * 1000);
          const limit = 1 + Math.floor(rand() * 12);
          const expected = model
            .filter((m) => m.userId === alice.id)
            .filter((m) => aliasId === undefined || m.aliasId === aliasId)
            .filter((m) => sinceT === undefined || m.t > sinceT)
            .map((m) => m.id)
            .sort((x, y) => y - x);
          const got = await allPages(store, alice.id, {
            limit,
            ...(aliasId === undefined ? {} : { aliasId }),
            ...(sinceT === undefined ? {} : { since: at(sinceT) }),
          });
          expect(got.ids).toEqual(expected);
        }
      });

      it('lists what came after a message, oldest first', async () => {
        const { store, alice, a1, a2, b1 } = await world();
        const ids: number[] = [];
        for (let i = 0; i < 6; i++) {
          ids.push(await save(store, message(i % 2 ? a1 : a2, i)));
          await save(store, message(b1, i));
        }
        expect((await store.listMessagesAfter(alice.id, 0, 100)).map((m) => m.id)).toEqual(ids);
        expect((await store.listMessagesAfter(alice.id, ids[1]!, 3)).map((m) => m.id)).toEqual(ids.slice(2, 5));
        expect(await store.listMessagesAfter(alice.id, ids[5]!, 10)).toEqual([]);
        const after = await store.listMessagesAfter(alice.id, ids[4]!, 10);
        expect(after.map((m) => [m.alias, m.subject])).toEqual([[a1.address, 't5']]);
      });

      it('rejects a cursor it did not hand out and a limit below one', async () => {
        const { store, alice } = await world();
        await expect(store.listMessages(alice.id, { limit: 5, cursor: 'not a cursor' })).rejects.toThrow();
        await expect(store.listMessages(alice.id, { limit: 0 })).rejects.toThrow();
        await expect(store.listAliases(alice.id, { limit: 5, cursor: '-1' })).rejects.toThrow();
      });
    });

    describe('mail client mailboxes (IMAP, POP3)', () => {
      it('lists a user’s and an address’s mailbox oldest first, with size, arrival and flags', async () => {
        const { store, alice, a1, a2, b1 } = await world();
        const ids = await store.saveMessages([message(a1, 10), message(a2, 11), message(a1, 12), message(b1, 13)]);
        const [m1, m2, m3] = ids as [number, number, number];
        const all = await store.listMailbox({ userId: alice.id });
        expect(all.map((e) => e.id)).toEqual([m1, m2, m3]);
        expect(all[0]).toEqual({ id: m1, aliasId: a1.id, size: message(a1, 10).raw.length, receivedAt: at(10), flags: [] });
        expect((await store.listMailbox({ userId: alice.id, aliasId: a1.id })).map((e) => e.id)).toEqual([m1, m3]);
        expect((await store.listMailbox({ userId: alice.id }, m1)).map((e) => e.id)).toEqual([m2, m3]);
        expect((await store.listMailbox({ userId: alice.id, aliasId: a1.id }, m1)).map((e) => e.id)).toEqual([m3]);
        // Another user's address names nothing of Alice's.
        expect(await store.listMailbox({ userId: alice.id, aliasId: b1.id })).toEqual([]);
        expect((await store.getMailboxEntries({ userId: alice.id }, [m3, m1, m1, ids[3]!, -1])).map((e) => e.id)).toEqual([m1, m3]);
        expect((await store.getMailboxEntries({ userId: alice.id, aliasId: a2.id }, [m1, m2, m3])).map((e) => e.id)).toEqual([m2]);
      });

      it('reads several raw messages at once, only within the scope', async () => {
        const { store, alice, a1, a2, b1 } = await world();
        const raw = awkwardBytes(5);
        const [m1, m2, m3] = await store.saveMessages([message(a1, 1, { raw }), message(a2, 2), message(b1, 3)]);
        const got = await store.getRaws({ userId: alice.id }, [m1!, m2!, m3!]);
        expect([...got.keys()]).toEqual([m1, m2]);
        expect(got.get(m1!)!.equals(raw)).toBe(true);
        expect([...(await store.getRaws({ userId: alice.id, aliasId: a2.id }, [m1!, m2!])).keys()]).toEqual([m2]);
      });

      it('reads header blocks without bodies, each cut where its blank line ends, only within the scope', async () => {
        const { store, alice, a1, a2, b1 } = await world();
        // Each message as its header block (core/header.ts) and what follows it.
        const shapes: [string, string][] = [
          ['From: x@sender.test\r\nSubject: crlf\r\n\r\n', 'body\r\n\r\nmore\r\n'],
          ['Subject: lf\nX: y\n\n', 'body\n\nmore\n'],
          // LF then CRLF ends it too; so does a bare-LF blank line before a CRLF one.
          ['Subject: mixed\n\r\n', 'body\r\n'],
          ['Subject: early\r\n\n', 'body\r\n\r\nx\r\n'],
          ['\r\n', 'no header at all\r\n'],
          ['\n', 'no header at all\n'],
          ['Subject: no body\r\nX: y\r\n', ''],
          ['Subject: folded\r\n line\r\n\r\n', ''],
        ];
        const saved = await store.saveMessages(shapes.map(([head, rest], i) => message(i % 2 ? a2 : a1, i, { raw: Buffer.from(head + rest, 'latin1') })));
        const got = await store.getHeaders({ userId: alice.id }, [...saved].reverse());
        expect([...got.keys()]).toEqual(saved);
        expect(saved.map((id) => got.get(id)!.toString('latin1'))).toEqual(shapes.map(([head]) => head));
        // Bytes as stored, 8-bit and NUL included.
        const awkward = Buffer.concat([Buffer.from('Subject: \xe9\x00\xff\r\n', 'latin1'), Buffer.from('\r\n'), awkwardBytes(9)]);
        const [m1, m2, m3] = await store.saveMessages([message(a1, 20, { raw: awkward }), message(a2, 21), message(b1, 22)]);
        const headers = await store.getHeaders({ userId: alice.id }, [m1!, m2!, m3!, m2!, -4]);
        expect([...headers.keys()]).toEqual([m1, m2]);
        expect(headers.get(m1!)!.equals(awkward.subarray(0, 16))).toBe(true);
        expect(headers.get(m2!)!.toString()).toBe('From: x@sender.test\r\nSubject: t21\r\n\r\n');
        expect([...(await store.getHeaders({ userId: alice.id, aliasId: a2.id }, [m1!, m2!])).keys()]).toEqual([m2]);
        expect((await store.getHeaders({ userId: alice.id, aliasId: b1.id }, [m3!])).size).toBe(0);
        expect((await store.getHeaders({ userId: alice.id }, [])).size).toBe(0);
        // Expunged messages are gone, header and all.
        await store.expungeMessages({ userId: alice.id }, [m1!]);
        expect([...(await store.getHeaders({ userId: alice.id }, [m1!, m2!])).keys()]).toEqual([m2]);
      });

      it('adds, removes and replaces flags, with \\Seen as the API’s seen', async () => {
        const { store, alice, bob, a1, a2 } = await world();
        const [m1, m2] = (await store.saveMessages([message(a1, 1), message(a2, 2)])) as [number, number];
        const scope = { userId: alice.id };
        let up = await store.updateFlags(scope, [m1, m2], 'add', ['\\seen', '\\Flagged', '$Label1', '\\Recent', '\\Unknown']);
        expect(up).toEqual([
          { id: m1, flags: ['\\Flagged', '\\Seen', '$Label1'], changed: true },
          { id: m2, flags: ['\\Flagged', '\\Seen', '$Label1'], changed: true },
        ]);
        expect((await store.getMessage(alice.id, m1))?.seen).toBe(true);
        // Keywords compare without regard to case; adding what is there changes nothing.
        up = await store.updateFlags(scope, [m1], 'add', ['$label1', '\\FLAGGED']);
        expect(up).toEqual([{ id: m1, flags: ['\\Flagged', '\\Seen', '$Label1'], changed: false }]);
        up = await store.updateFlags(scope, [m1], 'remove', ['\\Seen', '$LABEL1']);
        expect(up).toEqual([{ id: m1, flags: ['\\Flagged'], changed: true }]);
        expect((await store.getMessage(alice.id, m1))?.seen).toBe(false);
        up = await store.updateFlags(scope, [m1], 'replace', ['\\Draft', '\\Answered', 'Work']);
        expect(up[0]?.flags).toEqual(['\\Answered', '\\Draft', 'Work']);
        up = await store.updateFlags(scope, [m1], 'replace', []);
        expect(up[0]?.flags).toEqual([]);
        // setSeen (the API) and the flags agree both ways.
        await store.setSeen(alice.id, m1, true);
        expect((await store.getMailboxEntries(scope, [m1]))[0]?.flags).toEqual(['\\Seen']);
        // Out of scope: another address, another user.
        expect(await store.updateFlags({ userId: alice.id, aliasId: a1.id }, [m2], 'add', ['\\Deleted'])).toEqual([]);
        expect(await store.updateFlags({ userId: bob.id }, [m1], 'add', ['\\Deleted'])).toEqual([]);
        expect((await store.listMailbox(scope)).map((e) => e.flags)).toEqual([['\\Seen'], ['\\Flagged', '\\Seen', '$Label1']]);
      });

      it('expunges a set of messages, keeping the address counters, only within the scope', async () => {
        const { store, alice, bob, a1, a2, b1 } = await world();
        const [m1, m2, m3, m4] = (await store.saveMessages([message(a1, 1), message(a1, 2), message(a2, 3), message(b1, 4)])) as number[];
        await store.updateFlags({ userId: alice.id }, [m2!], 'add', ['\\Deleted']);
        expect(await store.expungeMessages({ userId: alice.id, aliasId: a2.id }, [m1!, m3!])).toEqual([m3]);
        expect(await store.expungeMessages({ userId: alice.id }, [m2!, m4!, m3!])).toEqual([m2]);
        expect(await store.expungeMessages({ userId: bob.id }, [m1!])).toEqual([]);
        expect((await store.listMailbox({ userId: alice.id })).map((e) => e.id)).toEqual([m1]);
        expect(await store.getAliasById(a1.id)).toMatchObject({ messageCount: 1, lastMessageAt: at(1) });
        expect(await store.getAliasById(a2.id)).toMatchObject({ messageCount: 0, lastMessageAt: null });
        expect((await store.getAliasById(b1.id))?.messageCount).toBe(1);
        expect(await store.expungeMessages({ userId: alice.id }, [])).toEqual([]);
      });

      it('counts a mailbox and keeps UIDNEXT above every id it ever held', async () => {
        const { store, alice, bob, a1, a2 } = await world();
        const empty = await store.mailboxStatus({ userId: alice.id });
        expect(empty).toMatchObject({ messages: 0, unseen: 0 });
        expect(empty.uidNext).toBeGreaterThanOrEqual(1);
        const [m1, m2, m3] = (await store.saveMessages([message(a1, 1), message(a2, 2), message(a1, 3)])) as number[];
        await store.setSeen(alice.id, m1!, true);
        expect(await store.mailboxStatus({ userId: alice.id })).toEqual({ messages: 3, unseen: 2, uidNext: m3! + 1 });
        expect(await store.mailboxStatus({ userId: alice.id, aliasId: a1.id })).toEqual({ messages: 2, unseen: 1, uidNext: m3! + 1 });
        expect(await store.mailboxStatus({ userId: alice.id, aliasId: a2.id })).toEqual({ messages: 1, unseen: 1, uidNext: m2! + 1 });
        // Expunging the newest message does not bring UIDNEXT back down.
        await store.expungeMessages({ userId: alice.id }, [m3!]);
        expect(await store.mailboxStatus({ userId: alice.id })).toEqual({ messages: 2, unseen: 1, uidNext: m3! + 1 });
        expect((await store.mailboxStatus({ userId: alice.id, aliasId: a1.id })).uidNext).toBe(m3! + 1);
        // Neither does expiry; another user's address counts nothing for Alice.
        await store.expireAlias(a2.id);
        expect(await store.mailboxStatus({ userId: alice.id, aliasId: a2.id })).toEqual({ messages: 0, unseen: 0, uidNext: m2! + 1 });
        expect((await store.mailboxStatus({ userId: bob.id, aliasId: a1.id })).messages).toBe(0);
      });

      it.skipIf(!options.reopen)('keeps flags and UIDNEXT across close and reopen', async () => {
        const first = await world();
        const { alice, a1 } = first;
        const [m1, m2] = (await first.store.saveMessages([message(a1, 1), message(a1, 2)])) as number[];
        await first.store.updateFlags({ userId: alice.id }, [m1!], 'add', ['\\Answered', 'Keep']);
        await first.store.expungeMessages({ userId: alice.id }, [m2!]);
        const store = await reopen(first.store);
        expect(await store.listMailbox({ userId: alice.id })).toMatchObject([{ id: m1, flags: ['\\Answered', 'Keep'] }]);
        expect((await store.mailboxStatus({ userId: alice.id, aliasId: a1.id })).uidNext).toBe(m2! + 1);
      });
    });

    describe('one user never reaches another’s mail', () => {
      it('hides, protects and keeps Alice’s message from Bob', async () => {
        const { store, alice, bob, a1, b1 } = await world();
        const id = await save(store, message(a1, 10, { code: '424242' }));
        await save(store, message(b1, 11));

        expect(await store.getMessage(bob.id, id)).toBeNull();
        expect(await store.getRaw(bob.id, id)).toBeNull();
        expect(await store.setSeen(bob.id, id, true)).toBeNull();
        expect(await store.deleteMessage(bob.id, id)).toBe(false);
        const bobs = await store.listMessages(bob.id, { limit: 100 });
        expect(bobs.items.every((m) => m.userId === bob.id)).toBe(true);
        expect(bobs.items.map((m) => m.id)).not.toContain(id);
        expect((await store.listMessagesAfter(bob.id, 0, 100)).map((m) => m.id)).not.toContain(id);
        expect((await store.listMessages(bob.id, { aliasId: a1.id, limit: 100 })).items).toEqual([]);

        const still = await store.getMessage(alice.id, id);
        expect(still?.seen).toBe(false);
        expect(still?.code).toBe('424242');
        expect((await store.getAliasById(a1.id))?.messageCount).toBe(1);
      });
    });

    describe('expiry', () => {
      it('finds the addresses due, expires them, and revives them on a new lifetime', async () => {
        const { store, alice, a1, a2 } = await world();
        const timed = (address: string, expiresAt: Date | null) =>
          store.createAlias({ userId: alice.id, address, site: null, label: null, createdAt: at(0), expiresAt });
        const e100 = await timed('e100x@wisp.test', at(100));
        const e50 = await timed('e50xx@wisp.test', at(50));
        const e200 = await timed('e200x@wisp.test', at(200));
        const [m50a, m50b] = await store.saveMessages([message(e50, 10), message(e50, 20)]);
        const kept = await save(store, message(a1, 30));

        expect(await store.nextExpiry()).toEqual(at(50));
        expect(await store.listDueForExpiry(at(49), 10)).toEqual([]);
        // "At or before now", soonest first, at most `limit`.
        expect((await store.listDueForExpiry(at(100), 10)).map((a) => a.id)).toEqual([e50.id, e100.id]);
        expect((await store.listDueForExpiry(at(100), 1)).map((a) => a.id)).toEqual([e50.id]);

        const expired = await store.expireAlias(e50.id);
        expect(expired).toMatchObject({ id: e50.id, expired: true, messageCount: 0, expiresAt: at(50) });
        expect(await store.getMessage(alice.id, m50a!)).toBeNull();
        expect(await store.getRaw(alice.id, m50b!)).toBeNull();
        expect((await store.getMessage(alice.id, kept))?.id).toBe(kept);
        expect(await store.getAlias(e50.address)).toEqual(expired);
        expect((await store.listDueForExpiry(at(100), 10)).map((a) => a.id)).toEqual([e100.id]);
        expect(await store.nextExpiry()).toEqual(at(100));
        expect((await store.listUsers())[0]?.messageCount).toBe(1);

        // A label change does not revive it; a new lifetime does.
        expect((await store.updateAlias(e50.id, { label: 'old' }))?.expired).toBe(true);
        const revived = await store.updateAlias(e50.id, { expiresAt: at(40) });
        expect(revived).toMatchObject({ expired: false, expiresAt: at(40), label: 'old' });
        expect(await store.nextExpiry()).toEqual(at(40));
        expect((await store.listDueForExpiry(at(100), 10)).map((a) => a.id)).toEqual([e50.id, e100.id]);
        // Mail reaches it again.
        await save(store, message(e50, 60));
        expect((await store.getAliasById(e50.id))?.messageCount).toBe(1);

        await store.expireAlias(e50.id);
        await store.expireAlias(e100.id);
        expect(await store.nextExpiry()).toEqual(at(200));
        await store.expireAlias(e200.id);
        expect(await store.nextExpiry()).toBeNull();
        // Reviving with no lifetime: never expires, so nothing is due.
        expect(await store.updateAlias(e200.id, { expiresAt: null })).toMatchObject({ expired: false, expiresAt: null });
        expect(await store.nextExpiry()).toBeNull();
        expect(await store.listDueForExpiry(at(1e6), 10)).toEqual([]);
        expect(await store.expireAlias(a2.id + 1000)).toBeNull();
      });
    });

    describe('outbound queue', () => {
      const outbound = (userId: number, groups: string[][], seconds = 0) => ({
        userId,
        mailFrom: 'a1x9k2@wisp.test',
        recipientGroups: groups,
        raw: awkwardBytes(seconds),
        createdAt: at(seconds),
      });

      it('queues one job per recipient group and hands each out once per lease', async () => {
        const { store, alice } = await world();
        expect(await store.nextOutboundAttempt()).toBeNull();
        const id = await store.enqueueOutbound(outbound(alice.id, [['x@one.test', 'y@one.test'], ['z@two.test'], []], 10));
        expect(id).toBeGreaterThan(0);
        expect(await store.nextOutboundAttempt()).toEqual(at(10));
        expect(await store.claimOutbound(at(9), 60_000, 10)).toEqual([]);

        const jobs = await store.claimOutbound(at(10), 60_000, 10);
        expect(jobs).toHaveLength(2);
        expect(jobs.map((j) => j.recipients)).toEqual([['x@one.test', 'y@one.test'], ['z@two.test']]);
        for (const job of jobs) {
          expect(job).toMatchObject({ messageId: id, userId: alice.id, mailFrom: 'a1x9k2@wisp.test', createdAt: at(10), attempts: 1, lastError: null });
          expect(job.raw.equals(awkwardBytes(10))).toBe(true);
        }
        // Leased: nobody else gets them until the lease ends, then they come back as a new attempt.
        expect(await store.claimOutbound(at(69), 60_000, 10)).toEqual([]);
        expect(await store.nextOutboundAttempt()).toEqual(at(70));
        const again = await store.claimOutbound(at(70), 60_000, 1);
        expect(again).toHaveLength(1);
        expect(again[0]!.attempts).toBe(2);
      });

      it('reschedules with the recipients still to reach, and drops the message with its last job', async () => {
        const { store, alice } = await world();
        await store.enqueueOutbound(outbound(alice.id, [['x@one.test', 'y@one.test'], ['z@two.test']]));
        const [first, second] = await store.claimOutbound(at(0), 1000, 10);
        await store.rescheduleOutbound(first!.id, { recipients: ['y@one.test'], nextAttemptAt: at(300), lastError: '451 try later' });
        await store.completeOutbound(second!.id);
        expect(await store.nextOutboundAttempt()).toEqual(at(300));
        expect(await store.claimOutbound(at(299), 1000, 10)).toEqual([]);
        const [retry] = await store.claimOutbound(at(300), 1000, 10);
        expect(retry).toMatchObject({ id: first!.id, recipients: ['y@one.test'], attempts: 2, lastError: '451 try later' });
        expect(retry!.raw.equals(awkwardBytes(0))).toBe(true);
        await store.completeOutbound(retry!.id);
        await store.completeOutbound(retry!.id);
        expect(await store.nextOutboundAttempt()).toBeNull();
        expect(await store.claimOutbound(at(1e6), 1000, 10)).toEqual([]);
      });

      it('hands out due jobs oldest first, up to the limit', async () => {
        const { store, alice, bob } = await world();
        for (let i = 5; i >= 1; i--) await store.enqueueOutbound(outbound(i % 2 ? alice.id : bob.id, [[`r${i}@x.test`]], i));
        const jobs = await store.claimOutbound(at(100), 1000, 3);
        expect(jobs.map((j) => j.recipients[0])).toEqual(['r1@x.test', 'r2@x.test', 'r3@x.test']);
        expect(jobs.map((j) => j.userId)).toEqual([alice.id, bob.id, alice.id]);
      });

      it('removes a user’s queued mail with the user', async () => {
        const { store, bob } = await world();
        await store.enqueueOutbound(outbound(bob.id, [['x@one.test']]));
        expect(await store.deleteUser('bob')).toBe(true);
        expect(await store.nextOutboundAttempt()).toBeNull();
      });

      it.skipIf(!options.reopen)('keeps queued mail across close and reopen', async () => {
        const first = await world();
        let store = first.store;
        const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => store.enqueueOutbound(outbound(first.alice.id, [[`r${i}@x.test`]], i))));
        store = await reopen(store);
        const jobs = await store.claimOutbound(at(100), 1000, 100);
        expect(jobs.map((j) => j.messageId).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
        for (const job of jobs) expect(job.raw.equals(awkwardBytes(Number(job.recipients[0]!.slice(1).split('@')[0])))).toBe(true);
      });
    });

    describe('upstream pull state', () => {
      const KEY = 'imaps://catchall%40example.org@mail.example.org:993/INBOX';

      it('knows nothing of a mailbox it never saved, and keeps each key apart', async () => {
        const store = await fresh();
        expect(await store.getUpstreamState(KEY)).toBeNull();
        await store.setUpstreamState(KEY, { uidValidity: 7, lastUid: 12, pending: null });
        await store.setUpstreamState(`${KEY}x`, { uidValidity: 8, lastUid: 1, pending: null });
        expect(await store.getUpstreamState(KEY)).toEqual({ uidValidity: 7, lastUid: 12, pending: null });
        expect(await store.getUpstreamState(`${KEY}x`)).toEqual({ uidValidity: 8, lastUid: 1, pending: null });
        expect(await store.getUpstreamState(KEY.toUpperCase())).toBeNull();
      });

      it('replaces the state, pending message included, with full 32-bit values', async () => {
        const store = await fresh();
        const max = 2 ** 32 - 1;
        await store.setUpstreamState(KEY, { uidValidity: max, lastUid: max - 1, pending: { uid: max, at: at(3) } });
        expect(await store.getUpstreamState(KEY)).toEqual({ uidValidity: max, lastUid: max - 1, pending: { uid: max, at: at(3) } });
        await store.setUpstreamState(KEY, { uidValidity: 1, lastUid: 0, pending: null });
        expect(await store.getUpstreamState(KEY)).toEqual({ uidValidity: 1, lastUid: 0, pending: null });
      });

      it.skipIf(!options.reopen)('keeps the state across close and reopen', async () => {
        let store = await fresh();
        await store.setUpstreamState(KEY, { uidValidity: 42, lastUid: 100, pending: { uid: 101, at: at(9) } });
        store = await reopen(store);
        expect(await store.getUpstreamState(KEY)).toEqual({ uidValidity: 42, lastUid: 100, pending: { uid: 101, at: at(9) } });
      });
    });

    describe('concurrent delivery', () => {
      it('gives 200 concurrent callers their own ids, in order', async () => {
        const { store, alice, bob, a1, a2, b1 } = await world();
        const aliases = [a1, a2, b1];
        const calls = Array.from({ length: 200 }, (_, i) =>
          Array.from({ length: (i % 3) + 1 }, (_, j) =>
            message(aliases[(i + j) % 3]!, i, { raw: awkwardBytes(i * 10 + j), subject: `c${i}.${j}` }),
          ),
        );
        const results = await Promise.all(calls.map((c) => store.saveMessages(c)));
        const all = results.flat();
        expect(new Set(all).size).toBe(all.length);
        results.forEach((ids, i) => {
          expect(ids).toHaveLength(calls[i]!.length);
          for (let j = 1; j < ids.length; j++) expect(ids[j]!).toBeGreaterThan(ids[j - 1]!);
        });
        for (const [i, ids] of results.entries()) {
          for (const [j, id] of ids.entries()) {
            const m = calls[i]![j]!;
            const got = await store.getMessage(m.userId, id);
            expect(got?.subject).toBe(`c${i}.${j}`);
            expect(got?.aliasId).toBe(m.aliasId);
          }
        }
        const counts = await Promise.all(aliases.map(async (a) => (await store.getAliasById(a.id))!.messageCount));
        const expected = aliases.map((a) => calls.flat().filter((m) => m.aliasId === a.id).length);
        expect(counts).toEqual(expected);
        const aliceIds = (await allPages(store, alice.id, { limit: 50 })).ids;
        const bobIds = (await allPages(store, bob.id, { limit: 50 })).ids;
        expect(aliceIds.length + bobIds.length).toBe(all.length);
      });

      it.skipIf(!options.reopen)('keeps everything across close and reopen', async () => {
        const first = await world();
        let store = first.store;
        const { alice, a1, a2, b1 } = first;
        await store.addToken(alice.id, 'hash-a', at(1));
        const calls = Array.from({ length: 200 }, (_, i) => [
          message([a1, a2, b1][i % 3]!, i, { raw: awkwardBytes(i), code: i % 2 ? String(100000 + i) : null }),
        ]);
        const saved = await Promise.all(calls.map((c) => store.saveMessages(c)));
        await store.updateAlias(a2.id, { label: 'kept', expiresAt: at(5000) });
        const newest = saved.flat().reduce((x, y) => Math.max(x, y));
        const newestOwner = calls[saved.findIndex((ids) => ids[0] === newest)]![0]!.userId;
        expect(await store.deleteMessage(newestOwner, newest)).toBe(true);
        // Saves still in flight when close is called either finish durably or fail; none vanish.
        const inFlight = [store.saveMessages([message(a1, 900)]), store.saveMessages([message(b1, 901)])];
        const closing = close(store);
        const settled = await Promise.allSettled(inFlight);
        await closing;

        store = await reopen(store);
        expect(await store.findUserByTokenHash('hash-a')).toEqual(alice);
        expect(await store.getAliasById(a2.id)).toMatchObject({ label: 'kept', expiresAt: at(5000) });
        for (const [i, ids] of saved.entries()) {
          const m = calls[i]![0]!;
          const id = ids[0]!;
          if (id === newest) {
            expect(await store.getMessage(m.userId, id)).toBeNull();
            continue;
          }
          expect((await store.getRaw(m.userId, id))?.equals(m.raw)).toBe(true);
          expect((await store.getMessage(m.userId, id))?.code).toBe(m.code);
        }
        for (const [i, result] of settled.entries()) {
          if (result.status !== 'fulfilled') continue;
          const userId = i === 0 ? alice.id : b1.userId;
          expect((await store.getMessage(userId, result.value[0]!))?.subject).toBe(i === 0 ? 't900' : 't901');
        }
        // Ids keep growing across the restart, even past the deleted newest one.
        const after = await save(store, message(a1, 1000));
        expect(after).toBeGreaterThan(Math.max(newest, ...settled.flatMap((r) => (r.status === 'fulfilled' ? r.value : []))));
      });
    });
  });
}
