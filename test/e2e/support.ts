// End-to-end support: the built extension, the browsers, and a server for the fixture pages.
// Browsers are Debian's (`chromium`, `firefox-esr`), never downloaded: when one is missing, it is
// installed with apt-get if we are root, otherwise the tests fail with the one command to run.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page, Worker } from 'playwright-core';
import { ROOT } from '../support/relay.ts';

export const CHROME_EXT = path.join(ROOT, '.output', 'chrome-mv3');
export const FIREFOX_EXT = path.join(ROOT, '.output', 'firefox-mv2');
export const PAGES = path.join(ROOT, 'test', 'fixtures', 'pages');
export const CHROMIUM = process.env.WISP_CHROMIUM ?? '/usr/bin/chromium';
export const FIREFOX = process.env.WISP_FIREFOX ?? '/usr/bin/firefox-esr';

// ---------------------------------------------------------------- browsers

/** Makes sure a Debian browser package is installed; throws with the command otherwise. */
export function ensureBrowser(binary: string, pkg: string): void {
  if (fs.existsSync(binary)) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const command = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${pkg}`;
  if (isRoot && fs.existsSync('/usr/bin/apt-get')) {
    const r = spawnSync('sh', ['-c', command], { stdio: 'inherit', timeout: 10 * 60_000 });
    if (r.status === 0 && fs.existsSync(binary)) return;
  }
  throw new Error(`The extension's end-to-end tests need ${binary} (Debian package ${pkg}). Install it with:\n  sudo sh -c '${command}'`);
}

// ---------------------------------------------------------------- the build

/** A hash of everything the build reads, so an unchanged tree is not built again. */
function sourceHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (!entry.name.endsWith('.test.ts')) hash.update(full).update(fs.readFileSync(full));
    }
  };
  walk(path.join(ROOT, 'extension'));
  walk(path.join(ROOT, 'shared'));
  for (const f of ['wxt.config.ts', 'package-lock.json', 'package.json']) if (fs.existsSync(path.join(ROOT, f))) hash.update(fs.readFileSync(path.join(ROOT, f)));
  return hash.digest('hex');
}

const STAMP = path.join(ROOT, '.output', '.wisp-e2e-build');
const LOCK = path.join(ROOT, '.output', '.wisp-e2e-lock');

function outputsPresent(): boolean {
  return [CHROME_EXT, FIREFOX_EXT].every((dir) => fs.existsSync(path.join(dir, 'manifest.json')));
}

/**
 * `wxt build` (Chrome) and `wxt build -b firefox`: once for a given source tree, and never twice
 * at the same time (test files run in parallel workers, and builds write the same folder).
 */
export async function buildExtension(): Promise<void> {
  const want = sourceHash();
  fs.mkdirSync(path.dirname(LOCK), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      break;
    } catch {
      // Another worker builds; a lock older than 3 minutes is a crashed run's.
      const age = Date.now() - (fs.statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 180_000) fs.rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited 3 minutes for ${LOCK}`);
      await sleep(200);
    }
  }
  try {
    const stamp = fs.existsSync(STAMP) ? fs.readFileSync(STAMP, 'utf8') : '';
    if (stamp === want && outputsPresent()) return;
    for (const args of [['wxt', 'build'], ['wxt', 'build', '-b', 'firefox']]) {
      try {
        execFileSync(process.platform === 'win32' ? 'npx.cmd' : 'npx', args, { cwd: ROOT, stdio: 'pipe', timeout: 120_000 });
      } catch (err) {
        const e = err as { stdout?: Buffer; stderr?: Buffer };
        throw new Error(`npx ${args.join(' ')} failed:\n${e.stdout?.toString() ?? ''}\n${e.stderr?.toString() ?? ''}`, { cause: err });
      }
    }
    // A failed build leaves an empty output folder, and Chromium then silently loads nothing.
    for (const dir of [CHROME_EXT, FIREFOX_EXT]) {
      if (!fs.existsSync(path.join(dir, 'manifest.json'))) throw new Error(`the build did not write ${dir}/manifest.json`);
    }
    fs.writeFileSync(STAMP, want);
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- fixture pages

export interface PageServer {
  port: number;
  /** http://NAME.test:PORT/PATH — any NAME; Chromium maps *.test to 127.0.0.1. */
  url(site: string, file: string): string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css' };

/** A large page with no form: many sections of text, links and images-free markup. */
export function largePage(sections = 2000): string {
  let body = '';
  for (let i = 0; i < sections; i++) {
    body += `<section class="s${i % 7}"><h3>Section ${i}</h3><p>Lorem ipsum <a href="#a${i}">dolor</a> sit amet, <b>consectetur</b> adipiscing elit ${i}.</p><ul><li>one</li><li>two</li><li>three</li></ul></section>\n`;
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Large page</title></head><body><main>${body}</main></body></html>`;
}

/** A page that keeps adding nodes (a feed), and counts how many it added. */
export function churnPage(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Feed</title></head><body><main id="feed"></main>
<script>
window.added = 0;
setInterval(function () {
  var feed = document.getElementById('feed');
  for (var i = 0; i < 50; i++) {
    var d = document.createElement('div');
    d.innerHTML = '<p>Item ' + window.added + ' <a href="#">link</a> <span>meta</span></p>';
    feed.appendChild(d);
    window.added++;
  }
  if (feed.childNodes.length > 3000) feed.removeChild(feed.firstChild);
}, 16);
</script></body></html>`;
}

export async function startPageServer(extra: Record<string, { type: string; body: string; headers?: Record<string, string> }> = {}): Promise<PageServer> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const special = extra[url.pathname];
    if (special) {
      res.writeHead(200, { 'content-type': special.type, 'cache-control': 'no-store', ...special.headers });
      res.end(special.body);
      return;
    }
    if (url.pathname === '/large.html') {
      res.writeHead(200, { 'content-type': TYPES['.html']! });
      res.end(largePage(Number(url.searchParams.get('n') ?? 2000)));
      return;
    }
    if (url.pathname === '/churn.html') {
      res.writeHead(200, { 'content-type': TYPES['.html']! });
      res.end(churnPage());
      return;
    }
    if (url.pathname === '/empty.html') {
      res.writeHead(200, { 'content-type': TYPES['.html']! });
      res.end('<!doctype html><html><head><title>Empty</title></head><body><p>Nothing here.</p></body></html>');
      return;
    }
    const file = path.join(PAGES, path.normalize(url.pathname).replace(/^([/\\])+/, ''));
    if (!file.startsWith(PAGES) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const headers: Record<string, string> = { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' };
    // csp-*.html pages get a strict Content-Security-Policy, as hardened sites send.
    if (path.basename(file).startsWith('csp-')) headers['content-security-policy'] = "default-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'";
    res.writeHead(200, headers);
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (site, file) => `http://${site}.test:${port}/${file}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

// ---------------------------------------------------------------- Chromium

export interface Chromium {
  context: BrowserContext;
  worker: Worker;
  extensionId: string;
  /** The service worker as it is now (Chrome may replace it). */
  sw(): Promise<Worker>;
  /** Stops the service worker, as Chrome does to idle ones. */
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export async function launchChromium(opts: { headless?: boolean } = {}): Promise<Chromium> {
  ensureBrowser(CHROMIUM, 'chromium');
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisp-chromium-'));
  const context = await chromium.launchPersistentContext(userDir, {
    executablePath: CHROMIUM,
    headless: opts.headless ?? true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP *.test 127.0.0.1',
      `--disable-extensions-except=${CHROME_EXT}`,
      `--load-extension=${CHROME_EXT}`,
    ],
  });
  let [worker] = context.serviceWorkers();
  worker ??= await context.waitForEvent('serviceworker', { timeout: 10_000 });
  const extensionId = new URL(worker.url()).host;
  return {
    context,
    worker,
    extensionId,
    async sw() {
      for (const w of context.serviceWorkers().reverse()) {
        if (!w.url().startsWith(`chrome-extension://${extensionId}/`)) continue;
        const alive = await Promise.race([w.evaluate(() => true).catch(() => false), sleep(1000).then(() => false)]);
        if (alive) return w;
      }
      return context.waitForEvent('serviceworker', { timeout: 10_000 });
    },
    async stopWorker() {
      const page = context.pages()[0] ?? (await context.newPage());
      const cdp = await context.newCDPSession(page);
      const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { type: string; targetId: string; url: string }[] };
      for (const t of targetInfos) {
        if (t.type === 'service_worker' && t.url.startsWith(`chrome-extension://${extensionId}/`)) await cdp.send('Target.closeTarget', { targetId: t.targetId });
      }
      await cdp.detach();
    },
    async close() {
      await context.close().catch(() => undefined);
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}

/** Pairs through the options page, as a user would; returns the status line's text. */
export async function pairThroughOptions(page: Page, extensionUrl: string, relayUrl: string, token: string): Promise<string> {
  await page.goto(`${extensionUrl}/options.html`);
  await page.getByLabel('Relay URL').fill(relayUrl);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Save' }).click();
  const status = page.locator('#check');
  await status.filter({ hasText: /answered|No answer|error/ }).waitFor({ timeout: 10_000 });
  return (await status.textContent()) ?? '';
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A TCP port free right now on 127.0.0.1 (for a relay that must come back on the same port). */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------- the extension's own state

/** The few extension APIs the tests call inside the service worker. */
interface ChromeApi {
  storage: { local: { get(key: string): Promise<Record<string, unknown>>; set(values: Record<string, unknown>): Promise<void> } };
  notifications: { getAll(cb: (all: Record<string, unknown>) => void): void };
}

/** A value from the extension's storage.local, read inside the service worker. */
export async function extStorage<T = unknown>(sw: Worker, key: string): Promise<T> {
  return sw.evaluate(async (k) => {
    const api = (globalThis as unknown as { chrome: ChromeApi }).chrome;
    return (await api.storage.local.get(k))[k];
  }, key) as Promise<T>;
}

export async function setExtStorage(sw: Worker, values: Record<string, unknown>): Promise<void> {
  await sw.evaluate(async (v) => {
    const api = (globalThis as unknown as { chrome: ChromeApi }).chrome;
    await api.storage.local.set(v);
  }, values);
}

/** The extension's notifications now shown, by id (Chrome reveals ids only). */
export async function notifications(sw: Worker): Promise<Record<string, unknown>> {
  return sw.evaluate(
    () =>
      new Promise<Record<string, unknown>>((resolve) => {
        const api = (globalThis as unknown as { chrome: ChromeApi }).chrome;
        api.notifications.getAll(resolve);
      }),
  );
}
