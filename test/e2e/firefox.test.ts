// The core of the journey in Firefox (Debian's firefox-esr, driven by puppeteer-core over
// WebDriver BiDi, which installs the built add-on): pair on the options page, fill a sign-up
// form through the inline button, receive the mail over SMTP, find the code in the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import puppeteer from 'puppeteer-core';
import type { Browser, Page } from 'puppeteer-core';
import { allAliases, eventually, sendMail, startRelay } from '../support/relay.ts';
import type { Relay } from '../support/relay.ts';
import { FIREFOX, FIREFOX_EXT, buildExtension, ensureBrowser, sleep, startPageServer } from './support.ts';
import type { PageServer } from './support.ts';

// A fixed internal UUID (Firefox assigns one per profile), so the test knows the options page URL.
const GECKO_ID = 'wisp@wisp.localhost';
const UUID = '6d1f3c2a-4b5e-4f60-9a7b-2c3d4e5f6a7b';
const EXT = `moz-extension://${UUID}`;
const SITES = ['acme.test', 'www.acme.test', 'login.test'];

let relay: Relay;
let pages: PageServer;
let browser: Browser;

async function value(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (el) => (el as HTMLInputElement).value);
}

async function until<T>(fn: () => Promise<T | null | undefined | false | ''>, what: string, timeoutMs = 10_000): Promise<T> {
  return eventually(fn as () => Promise<T | null | undefined | false>, timeoutMs, what);
}

beforeAll(async () => {
  ensureBrowser(FIREFOX, 'firefox-esr');
  await buildExtension();
  relay = await startRelay();
  pages = await startPageServer();
  browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: {
      'extensions.webextensions.uuids': JSON.stringify({ [GECKO_ID]: UUID }),
      // Firefox has no host-resolver rules: name each test site.
      'network.dns.localDomains': SITES.join(','),
      'browser.shell.checkDefaultBrowser': false,
    },
  });
  await browser.installExtension(FIREFOX_EXT);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await pages?.close();
  await relay?.stop();
});

describe('Firefox: pair, fill, receive the code', () => {
  it('sends an unpaired user from the inline button to the options page, and pairs there', async () => {
    // WebDriver BiDi may not navigate to moz-extension:// pages, but the extension opens its own.
    const site = await browser.newPage();
    await site.goto(pages.url('acme', 'signup.html'));
    await site.locator('#email').click();
    await site.locator('wisp-suggestion >>> button').click();
    // BiDi reports extension pages as about:blank: ask each page where it is.
    const page = await until(async () => {
      for (const p of await browser.pages()) {
        const href = await p.evaluate(() => location.href).catch(() => '');
        if (href.startsWith(`${EXT}/options.html`)) return p;
      }
      return null;
    }, 'the options page');
    expect(await value(site, '#email')).toBe('');
    await site.close();
    await page.locator('#relay-url').fill(relay.http);
    await page.locator('#token').fill(relay.token);
    await page.locator('button[type=submit]').click();
    await until(async () => (await page.$eval('#check', (el) => el.textContent ?? '')).includes('accepted this token'), 'the check line');
    await until(async () => (await page.$eval('#live', (el) => el.textContent ?? '').catch(() => '')).includes('as me'), 'the live connection');
    await page.close();
  });

  it('fills the sign-up form through the inline button, then the code from the mail', async () => {
    const page = await browser.newPage();
    await page.goto(pages.url('acme', 'signup.html'));
    await page.locator('#email').click();
    await page.locator('wisp-suggestion >>> button').click();
    const address = await until(async () => {
      const v = await value(page, '#email');
      return /@wisp\.localhost$/.test(v) ? v : null;
    }, 'the filled address');
    expect(await value(page, '#email2')).toBe(address);
    expect(await value(page, 'input[name=email_hp]')).toBe('');
    const state = JSON.parse(await page.$eval('#state', (el) => el.textContent ?? '{}')) as Record<string, string>;
    expect(state.email).toBe(address);
    await until(async () => (await allAliases(relay)).find((a) => a.address === address && (a.site === 'acme.test' || a.label === 'acme.test')), 'the claimed address', 5000);

    await page.locator('button[type=submit]').click();
    await page.waitForSelector('#otp', { visible: true });
    await sendMail(relay, { to: address, subject: 'Your Acme verification code', text: 'Your verification code is 902211.' });
    await until(async () => (await value(page, '#otp')) === '902211', 'the code in the field');
    const after = JSON.parse(await page.$eval('#state', (el) => el.textContent ?? '{}')) as Record<string, string>;
    expect(after.otp).toBe('902211');
    // The clipboard: paste it into a textarea, as the user would.
    await page.evaluate(() => {
      const area = document.createElement('textarea');
      area.id = 'paste';
      document.body.append(area);
      area.focus();
    });
    await page.keyboard.down('Control');
    await page.keyboard.press('v');
    await page.keyboard.up('Control');
    await until(async () => (await value(page, '#paste')) === '902211', 'the code on the clipboard', 3000);
    await page.close();
  });

  it('shows no suggestion on a sign-in form', async () => {
    const page = await browser.newPage();
    await page.goto(pages.url('login', 'login.html'));
    await page.locator('#login-email').click();
    await sleep(300);
    expect(await page.$$eval('wisp-suggestion', (els) => els.length)).toBe(0);
    await page.close();
  });
});
