// The user's journey in real Chromium with the built extension and a real relay: pair on the
// options page, fill a sign-up form through the inline button, receive the verification mail over
// SMTP, and find the code in the page's code field, on the clipboard and in a notification. Then
// the hard parts: forms in shadow roots, frames and other languages, code boxes that appear after
// the code, a stopped service worker, a relay that restarts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { Alias } from '../../shared/api.ts';
import { allAliases, allMessages, apiOk, eventually, sendMail, startRelay, waitForSubject } from '../support/relay.ts';
import type { Relay } from '../support/relay.ts';
import { buildExtension, extStorage, freePort, launchChromium, notifications, pairThroughOptions, setExtStorage, sleep, startPageServer } from './support.ts';
import type { Chromium, PageServer } from './support.ts';
import { pairBase } from './pair-proxy.ts';

let relay: Relay;
let pages: PageServer;
let browser: Chromium;
let ext: string;

const ADDRESS = /^[a-z0-9.]+@wisp\.localhost$/;

async function status(): Promise<string | undefined> {
  return (await extStorage<{ state: string } | undefined>(await browser.sw(), 'status'))?.state;
}

async function focusAndFill(page: Page, selector: string): Promise<string> {
  await page.locator(selector).click();
  const button = page.getByRole('button', { name: 'Fill temp address' });
  await button.waitFor({ timeout: 5000 });
  await button.click();
  await expect.poll(() => page.locator(selector).inputValue(), { timeout: 5000 }).toMatch(ADDRESS);
  return page.locator(selector).inputValue();
}

/** Gives a site an address the way a fill would, without a form. */
async function addressFor(site: string): Promise<string> {
  const alias = await apiOk<Alias>(relay, 'POST', '/api/aliases', { site: `${site}.test` });
  const sw = await browser.sw();
  const siteAddresses = (await extStorage<Record<string, string> | undefined>(sw, 'siteAddresses')) ?? {};
  await setExtStorage(sw, { siteAddresses: { ...siteAddresses, [`${site}.test`]: alias.address } });
  return alias.address;
}

/** The clipboard, read from a secure (loopback) page that has the permission. */
async function readClipboard(): Promise<string> {
  const reader = await browser.context.newPage();
  try {
    await reader.goto(`http://127.0.0.1:${pages.port}/empty.html`);
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: `http://127.0.0.1:${pages.port}` });
    await reader.bringToFront();
    return await reader.evaluate(() => navigator.clipboard.readText());
  } finally {
    await reader.close();
  }
}

async function boxesValue(page: Page): Promise<string> {
  return page.locator('.boxes input').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value).join(''));
}

beforeAll(async () => {
  await buildExtension();
  // A fixed port, so the relay can come back on the same URL in the restart test.
  relay = await startRelay({ ports: { http: String(await freePort()) } });
  pages = await startPageServer();
  browser = await launchChromium();
  ext = `chrome-extension://${browser.extensionId}`;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await pages?.close();
  await relay?.stop();
});

describe('Chromium: pair, fill, receive the code', () => {
  it('shows a wrong token as refused, then pairs through the options page without a permission prompt', async () => {
    const page = await browser.context.newPage();
    const refused = await pairThroughOptions(page, ext, relay.http, 'wisp_not-a-token');
    expect(refused).toContain('refused this token');
    const line = await pairThroughOptions(page, ext, relay.http, relay.token);
    expect(line).toContain('accepted this token');
    await eventually(async () => (await status()) === 'connected', 10_000, 'the live connection');
    await expect.poll(() => page.locator('#live').textContent()).toContain('as me');
    // A spare address is made ahead of time, so the first fill does not wait for the relay.
    await eventually(async () => extStorage(await browser.sw(), 'spare'), 10_000, 'a spare address');
    await page.close();
  });

  it('fills a sign-up form through the inline button, and the code when the mail arrives', async () => {
    const page = await browser.context.newPage();
    await page.goto(pages.url('acme', 'signup.html'));
    const address = await focusAndFill(page, '#email');
    // The confirm-email twin gets the same address; the honeypot, the name and the phone nothing.
    expect(await page.locator('#email2').inputValue()).toBe(address);
    expect(await page.locator('input[name=email_hp]').inputValue()).toBe('');
    expect(await page.locator('input[name=given]').inputValue()).toBe('');
    expect(await page.locator('input[name=phone]').inputValue()).toBe('');
    // The page's framework saw the change (native setter + input event).
    const state = JSON.parse((await page.locator('#state').textContent()) ?? '{}') as Record<string, string>;
    expect(state.email).toBe(address);
    expect(state.email_confirm).toBe(address);
    // The relay knows which site the address is for.
    await eventually(async () => (await allAliases(relay)).find((a) => a.address === address && (a.site === 'acme.test' || a.label === 'acme.test')), 5000, 'the claimed address');

    // Another page of the same site (a subdomain): the same address.
    const again = await browser.context.newPage();
    await again.goto(pages.url('www.acme', 'signup.html'));
    expect(await focusAndFill(again, '#email')).toBe(address);
    await again.close();

    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('#otp').waitFor();
    const sentAt = Date.now();
    await sendMail(relay, {
      to: address,
      from: 'no-reply@acme.test',
      subject: 'Your Acme verification code',
      text: 'Welcome to Acme!\n\nYour verification code is 482913.\n\nIt expires in 10 minutes.',
    });
    await expect.poll(() => page.locator('#otp').inputValue(), { timeout: 10_000, interval: 10 }).toBe('482913');
    console.log(`[e2e] SMTP 250 → code in the field: ${Date.now() - sentAt} ms`);
    const after = JSON.parse((await page.locator('#state').textContent()) ?? '{}') as Record<string, string>;
    expect(after.otp).toBe('482913');

    await expect.poll(readClipboard, { timeout: 5000 }).toBe('482913');

    // A notification for that message (its id carries the message id and its actions: none left,
    // as the code is already copied and filled).
    const [message] = await allMessages(relay, { alias: address });
    expect(Object.keys(await notifications(await browser.sw()))).toContain(`wisp|${message!.id}|`);
    await page.close();
  });

  it('shows no suggestion on a sign-in form, and never on password, name, phone or search fields', async () => {
    const page = await browser.context.newPage();
    await page.goto(pages.url('login', 'login.html'));
    await page.locator('#login-email').click();
    await sleep(300);
    expect(await page.locator('wisp-suggestion').count()).toBe(0);
    await page.goto(pages.url('acme', 'signup.html'));
    for (const sel of ['input[type=search]', 'input[name=password]', 'input[name=given]', 'input[name=phone]']) {
      await page.locator(sel).click();
      await sleep(150);
      expect(await page.locator('wisp-suggestion').count(), sel).toBe(0);
    }
    await page.close();
  });

  it('finds forms that appear late, inside an open shadow root and a same-origin iframe, and in other languages', async () => {
    const page = await browser.context.newPage();
    await page.goto(pages.url('waitlist', 'late.html'));
    const field = page.locator('signup-card').locator('#w-email');
    await field.waitFor();
    const address = await focusAndFill(page, 'signup-card #w-email');
    const frame = page.frameLocator('iframe');
    await frame.locator('#courriel').click();
    await page.getByRole('button', { name: 'Fill temp address' }).click();
    await expect.poll(() => frame.locator('#courriel').inputValue()).toBe(address);

    await page.goto(pages.url('wetter', 'newsletter.html'));
    await focusAndFill(page, 'input[name=nl_mail]');
    await page.close();
  });

  it('offers itself on a field that had focus before the extension ran (autofocus)', async () => {
    const page = await browser.context.newPage();
    await page.goto(pages.url('autofocus', 'autofocus.html'));
    await page.bringToFront();
    await page.getByRole('button', { name: 'Fill temp address' }).click({ timeout: 5000 });
    await expect.poll(() => page.locator('#correo').inputValue()).toMatch(ADDRESS);
    await page.close();
  });

  it('ignores a click on its button that a page script makes', async () => {
    const page = await browser.context.newPage();
    await page.goto(pages.url('scripted', 'signup.html'));
    await page.locator('#email').click();
    await page.getByRole('button', { name: 'Fill temp address' }).waitFor();
    await page.evaluate(() => {
      const host = document.querySelector('wisp-suggestion') as HTMLElement;
      (host.shadowRoot!.querySelector('button') as HTMLButtonElement).click();
    });
    await sleep(500);
    expect(await page.locator('#email').inputValue()).toBe('');
    await page.close();
  });

  it('is keyboard-reachable and dismissible', async () => {
    const page = await browser.context.newPage();
    await page.goto(pages.url('keys', 'signup.html'));
    await page.locator('#email').click();
    await page.getByRole('button', { name: 'Fill temp address' }).waitFor();
    await page.keyboard.press('Escape');
    expect(await page.locator('wisp-suggestion').count()).toBe(0);
    await page.locator('#email2').click();
    await page.getByRole('button', { name: 'Fill temp address' }).waitFor();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#email2').inputValue()).toMatch(ADDRESS);
    await page.close();
  });

  it('fills the focused field on request (what the context menu and the shortcut send), never a password', async () => {
    // Native context menus and extension shortcuts cannot be driven in headless Chromium; their
    // handlers end in this same message to the tab's content script.
    const page = await browser.context.newPage();
    await page.goto(pages.url('menu', 'login.html'));
    const sw = await browser.sw();
    const tell = (address: string) =>
      sw.evaluate(async (a) => {
        const api = (globalThis as unknown as { chrome: { tabs: { query(q: object): Promise<{ id: number; url?: string }[]>; sendMessage(id: number, m: object, o: object): Promise<unknown> } } }).chrome;
        const tabs = await api.tabs.query({});
        const results = await Promise.all(tabs.map((t) => api.tabs.sendMessage(t.id, { type: 'where' }, { frameId: 0 }).then((r) => ({ id: t.id, r }), () => null)));
        const tab = results.find((x) => (x?.r as { url?: string } | undefined)?.url?.includes('menu.test'));
        return api.tabs.sendMessage(tab!.id, { type: 'fill-focused', address: a }, { frameId: 0 });
      }, address);
    await page.locator('#login-email').click();
    expect(await tell('menu.abc@wisp.localhost')).toMatchObject({ filled: true });
    expect(await page.locator('#login-email').inputValue()).toBe('menu.abc@wisp.localhost');
    await page.locator('#pw').click();
    expect(await tell('menu.abc@wisp.localhost')).toMatchObject({ filled: false });
    expect(await page.locator('#pw').inputValue()).toBe('');
    await page.close();
  });

  it('fills a row of one-character boxes that appear only after the code arrived', async () => {
    const address = await addressFor('boxes');
    const page = await browser.context.newPage();
    await page.goto(pages.url('boxes', 'boxes.html?late'));
    await sendMail(relay, { to: address, subject: 'Your code', text: 'Use 739 154 to verify your email address.' });
    await expect.poll(() => boxesValue(page), { timeout: 10_000 }).toBe('739154');
    await page.close();
  });

  it('fills a code that came before the site moved on to its "enter the code" page', async () => {
    const address = await addressFor('nav');
    const page = await browser.context.newPage();
    await page.goto(pages.url('nav', 'login.html'));
    await sendMail(relay, { to: address, subject: 'Your code', text: 'Your one-time code is 884422.' });
    await waitForSubject(relay, 'Your code', undefined, 5000).catch(() => undefined);
    await sleep(300);
    await page.goto(pages.url('nav', 'otp.html'));
    await page.locator('#otp').click();
    await expect.poll(() => page.locator('#otp').inputValue(), { timeout: 5000 }).toBe('884422');
    await page.close();
  });

  it('shows a link-only message as a notification and opens nothing by itself', async () => {
    const address = await addressFor('linky');
    const page = await browser.context.newPage();
    await page.goto(pages.url('linky', 'signup.html'));
    const before = browser.context.pages().length;
    await sendMail(relay, {
      to: address,
      subject: 'Confirm your email address',
      html: '<p>Thanks for signing up!</p><p><a href="https://linky.test/confirm?t=abc123">Confirm email address</a></p>',
    });
    const message = await waitForSubject(relay, 'Confirm your email address');
    expect(message.link).toBe('https://linky.test/confirm?t=abc123');
    await eventually(async () => Object.keys(await notifications(await browser.sw())).includes(`wisp|${message.id}|open`), 10_000, 'the Open link notification');
    await sleep(300);
    expect(browser.context.pages().length).toBe(before);
    expect(await page.locator('#otp').inputValue()).toBe('');
    await page.close();
  });

  it('catches up after Chrome stops the service worker, with `since`', async () => {
    const address = await addressFor('wake');
    const page = await browser.context.newPage();
    await page.goto(pages.url('wake', 'boxes.html'));
    await browser.stopWorker();
    await sendMail(relay, { to: address, subject: 'Code', text: 'Your verification code: 551203' });
    await sleep(500);
    expect(await boxesValue(page)).toBe('');
    // Any event wakes the worker (the watchdog alarm at the latest, within a minute); here the
    // options page asks it to reconnect.
    const options = await browser.context.newPage();
    await options.goto(`${ext}/options.html`);
    await options.evaluate(() => (globalThis as unknown as { chrome: { runtime: { sendMessage(m: object): Promise<unknown> } } }).chrome.runtime.sendMessage({ type: 'reconnect' }));
    await expect.poll(() => boxesValue(page), { timeout: 10_000 }).toBe('551203');
    await options.close();
    await page.close();
  });

  it('reconnects with backoff when the relay restarts, and misses nothing sent meanwhile', async () => {
    const address = await addressFor('restart');
    const page = await browser.context.newPage();
    await page.goto(pages.url('restart', 'boxes.html'));
    await relay.kill('SIGKILL');
    await eventually(async () => (await status()) === 'offline', 5000, 'offline status');
    await relay.restart();
    // Sent before the extension is back (its next attempt is a second or more away).
    await sendMail(relay, { to: address, subject: 'Code', text: 'Your verification code: 662817' });
    await expect.poll(() => boxesValue(page), { timeout: 20_000 }).toBe('662817');
    expect(await status()).toBe('connected');
    await page.close();
  });

  it('popup: the tab\'s site, Generate address (copied), its messages with codes, all addresses', async () => {
    const site = await browser.context.newPage();
    await site.goto(pages.url('popup', 'signup.html'));
    // Opened as a tab, the popup is about the tab used just before it.
    const popup = await browser.context.newPage();
    await popup.goto(`${ext}/popup.html`);
    await expect.poll(() => popup.getByRole('heading', { level: 2 }).first().textContent()).toBe('popup.test');
    await popup.getByRole('button', { name: 'Generate address' }).click();
    await expect.poll(() => popup.locator('#site-address').textContent()).toMatch(ADDRESS);
    const address = (await popup.locator('#site-address').textContent())!;
    expect(await popup.getByText('New address copied.').count()).toBe(1);
    expect(await readClipboard()).toBe(address);

    await sendMail(relay, { to: address, subject: 'Your popup code', text: 'Your verification code is 314159.' });
    await waitForSubject(relay, 'Your popup code');
    await popup.reload();
    await expect.poll(() => popup.getByRole('button', { name: 'Copy code 314159' }).count(), { timeout: 5000 }).toBe(1);

    await popup.getByRole('button', { name: 'All addresses' }).click();
    await popup.getByRole('searchbox', { name: 'Search addresses' }).fill('popup');
    await expect.poll(() => popup.getByText(address).count()).toBe(1);
    await popup.getByRole('searchbox', { name: 'Search addresses' }).fill('no-such-thing');
    await expect.poll(() => popup.getByText('No addresses match.').count()).toBe(1);
    await popup.close();
    await site.close();
  });

  it("pairs through the relay's /pair page: a link that fills in the options, confirmed with Save", async () => {
    const front = await pairBase(relay.http);
    try {
      const page = await browser.context.newPage();
      await page.goto(`${front.url}/pair#token=${encodeURIComponent(relay.token)}`);
      await expect.poll(() => page.locator('#check-status').textContent()).toContain('accepted');
      // The token left the address bar (and history) at once.
      expect(page.url()).not.toContain(relay.token);
      expect(await page.locator('#relay-url').textContent()).toBe(front.url);
      const button = page.getByRole('button', { name: 'Pair the Wisp extension' });
      await expect.poll(() => button.isEnabled()).toBe(true);
      const opened = browser.context.waitForEvent('page', { timeout: 10_000 });
      await button.click();
      const options = await opened;
      await options.waitForLoadState();
      expect(options.url()).toBe(`${ext}/options.html`);
      await expect.poll(() => options.getByLabel('Relay URL').inputValue()).toBe(front.url);
      expect(await options.getByLabel('Token').inputValue()).toBe(relay.token);
      // Nothing is saved until the user presses Save in the extension's own page.
      expect((await extStorage<{ relayUrl: string }>(await browser.sw(), 'settings')).relayUrl).toBe(relay.http);
      await options.getByRole('button', { name: 'Save' }).click();
      await expect.poll(() => options.locator('#check').textContent()).toContain('accepted this token');
      expect((await extStorage<{ relayUrl: string }>(await browser.sw(), 'settings')).relayUrl).toBe(front.url);
      await eventually(async () => (await status()) === 'connected', 10_000, 'the live connection through the new URL');

      // A page that is not the relay cannot offer itself: its click changes nothing.
      const evil = await browser.context.newPage();
      await evil.goto(pages.url('evil', 'signup.html'));
      await evil.evaluate(() => {
        const m = document.createElement('meta');
        m.name = 'wisp-pairing';
        m.content = 'https://attacker.example/';
        document.head.append(m);
      });
      expect(await evil.evaluate(() => document.documentElement.getAttribute('data-wisp-extension'))).toBeNull();
      await evil.close();
      await options.close();
      await page.close();
    } finally {
      await front.close();
    }
  });

  it('pairs with a relay under a DNS name just the same: no prompt, no host permission granted', async () => {
    const named = `http://relay.test:${relay.httpPort}`;
    const page = await browser.context.newPage();
    expect(await pairThroughOptions(page, ext, named, relay.token)).toContain('accepted this token');
    await eventually(async () => (await status()) === 'connected', 10_000, 'the live connection to relay.test');
    const granted = await (await browser.sw()).evaluate(() =>
      (globalThis as unknown as { chrome: { permissions: { getAll(): Promise<{ origins?: string[] }> } } }).chrome.permissions.getAll(),
    );
    // Chrome lists the content script's match patterns as the extension's origins: nothing more.
    expect([...(granted.origins ?? [])].sort()).toEqual(['http://*/*', 'https://*/*']);
    await page.goto(pages.url('named', 'signup.html'));
    const address = await focusAndFill(page, '#email');
    await page.getByRole('button', { name: 'Create account' }).click();
    await sendMail(relay, { to: address, subject: 'Code', text: 'Your verification code is 246810.' });
    await expect.poll(() => page.locator('#otp').inputValue(), { timeout: 10_000 }).toBe('246810');
    await page.close();
  });
});
