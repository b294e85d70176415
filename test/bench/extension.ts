// The extension's half of `npm run bench`, in real Chromium with the built extension:
//
//   (g) the content script's size, minified and gzipped (target: under 30 KB minified);
//   (h) its main-thread cost while a large page without forms loads (target: under 1 ms), beside
//       an empty content script, which is what Chrome charges any extension that has one;
//   (i) its main-thread cost on a page that keeps adding nodes, idle and while it waits for a
//       code field to appear (the only time it observes the DOM);
//   (j) the time from the relay's WebSocket frame to the code in the page's field, and from the
//       SMTP 250 to the field, through a real relay.
//
// Main-thread time comes from Chromium's own trace (CDP Tracing): the thread CPU time of every
// trace event whose script is the content script, nested events counted once, without the page's
// own garbage collection that V8 happens to finish inside it.
//
//   tsx test/bench/extension.ts [--quick]        alone
//   extensionBenches({ quick, progress })         from run.ts
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import WebSocket from 'ws';
import { sendMail, startRelay } from '../support/relay.ts';
import { CHROME_EXT, CHROMIUM, FIREFOX_EXT, buildExtension, ensureBrowser, extStorage, launchChromium, pairThroughOptions, sleep, startPageServer } from '../e2e/support.ts';
import type { PageServer } from '../e2e/support.ts';
import { markdownTable, median, ms, quantile, textTable } from './stats.ts';

const SCRIPT = 'wisp-content.js';
const TARGET_SIZE = 30 * 1024;
const TARGET_LOAD_MS = 1;

interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  /** Thread (CPU) duration. */
  tdur?: number;
  tid: number;
  args?: { data?: { url?: string; scriptName?: string; functionName?: string }; fileName?: string };
}

export interface ExtensionFigures {
  size: { chrome: number; chromeGzip: number; firefox: number };
  /** Main-thread ms per load without the page's GC; `gc`: the page's GC that ran inside. */
  load: { ours: number[]; later: number[]; floor: number[]; gc: number[]; pageNodes: number };
  churn: { seconds: number; idle: number; waiting: number; nodesPerSecond: number };
  latency: { frameToField: number[]; smtpToField: number[] };
}

const isGc = (name: string) => /^(MajorGC|MinorGC|V8\.GC|BlinkGC|ThreadState::|CppGC)/.test(name);

/** Events not inside an earlier one of the list on the same thread (so nesting counts once). */
function outermost(events: TraceEvent[]): TraceEvent[] {
  const out: TraceEvent[] = [];
  const ends = new Map<number, number>();
  for (const e of [...events].sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0))) {
    if (e.ts < (ends.get(e.tid) ?? -Infinity)) continue;
    out.push(e);
    ends.set(e.tid, e.ts + (e.dur ?? 0));
  }
  return out;
}

/** Thread CPU time of an event (wall time where the trace has none): preemption excluded. */
const cpu = (e: TraceEvent) => (e.tdur ?? e.dur ?? 0) / 1000;

/**
 * Main-thread CPU milliseconds attributed to `script` (optionally only events named `only`), and
 * how much of that was garbage collection of the page's heap that merely happened to run inside
 * (V8 finishes pending GC work at the first safepoint, whoever's script that is).
 */
function scriptTime(events: TraceEvent[], script: string, only?: string): { total: number; gc: number; own: number } {
  const ours = outermost(
    events.filter(
      (e) =>
        e.ph === 'X' &&
        e.dur !== undefined &&
        (only === undefined || e.name === only) &&
        (e.args?.data?.url ?? e.args?.data?.scriptName ?? e.args?.fileName ?? '').endsWith(`/${script}`),
    ),
  );
  const inside = (e: TraceEvent) => ours.some((o) => o.tid === e.tid && e.ts >= o.ts && e.ts + (e.dur ?? 0) <= o.ts + (o.dur ?? 0));
  const gcs = outermost(events.filter((e) => e.ph === 'X' && e.dur !== undefined && isGc(e.name) && inside(e)));
  const total = ours.reduce((sum, e) => sum + cpu(e), 0);
  const gc = gcs.reduce((sum, e) => sum + cpu(e), 0);
  return { total, gc, own: Math.max(0, total - gc) };
}

async function traced(cdp: CDPSession, work: () => Promise<void>): Promise<TraceEvent[]> {
  const events: TraceEvent[] = [];
  const collect = (e: { value: object[] }) => void events.push(...(e.value as TraceEvent[]));
  cdp.on('Tracing.dataCollected', collect);
  await cdp.send('Tracing.start', {
    traceConfig: { includedCategories: ['devtools.timeline', 'v8', 'disabled-by-default-v8.gc'] },
    transferMode: 'ReportEvents',
  } as never);
  await work();
  const done = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
  await cdp.send('Tracing.end');
  await done;
  cdp.off('Tracing.dataCollected', collect);
  return events;
}

/** An extension with the same manifest shape and an empty content script: Chrome's floor. */
function emptyExtension(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisp-empty-ext-'));
  fs.writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({ manifest_version: 3, name: 'empty', version: '1.0', content_scripts: [{ matches: ['http://*/*', 'https://*/*'], js: ['empty.js'], run_at: 'document_idle' }] }),
  );
  fs.writeFileSync(path.join(dir, 'empty.js'), 'void 0;\n');
  return dir;
}

async function launchWith(extension: string): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisp-bench-'));
  const context = await chromium.launchPersistentContext(userDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--host-resolver-rules=MAP *.test 127.0.0.1', `--disable-extensions-except=${extension}`, `--load-extension=${extension}`],
  });
  await sleep(500);
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}

/** Main-thread ms of `script` while `url` loads, once per fresh site (no warm caches between). */
async function loadCost(extension: string, script: string, pages: PageServer, runs: number): Promise<{ times: number[]; later: number[]; gc: number[]; nodes: number }> {
  const browser = await launchWith(extension);
  const times: number[] = [];
  const later: number[] = [];
  const gc: number[] = [];
  let nodes = 0;
  try {
    const page = await browser.context.newPage();
    const cdp = await browser.context.newCDPSession(page);
    for (let i = 0; i < runs + 1; i++) {
      const events = await traced(cdp, async () => {
        await page.goto(pages.url(`large${i}`, 'large.html?n=3000'), { waitUntil: 'load' });
        await sleep(400);
      });
      if (i === 0) continue; // the first load warms the browser itself
      // At load: the script's evaluation, synchronous, as the page loads. Later: what it deferred
      // to an idle moment (listening to the background), within the same second.
      const atLoad = scriptTime(events, script, 'EvaluateScript');
      const all = scriptTime(events, script);
      times.push(atLoad.own);
      later.push(Math.max(0, all.own - atLoad.own));
      gc.push(all.gc);
      nodes = await page.evaluate(() => document.getElementsByTagName('*').length);
    }
  } finally {
    await browser.close();
  }
  return { times, later, gc, nodes };
}

async function churnCost(pages: PageServer, seconds: number): Promise<ExtensionFigures['churn']> {
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    await page.goto(pages.url('feed', 'churn.html'));
    await sleep(500);
    const cdp = await browser.context.newCDPSession(page);
    const measure = async () => {
      const before = await page.evaluate(() => (window as unknown as { added: number }).added);
      const events = await traced(cdp, () => sleep(seconds * 1000));
      const after = await page.evaluate(() => (window as unknown as { added: number }).added);
      return { ms: scriptTime(events, SCRIPT).own, nodes: (after - before) * 4 };
    };
    const idle = await measure();
    // A code for this site with no code field on the page: the script now watches for one.
    const sw = await browser.sw();
    await sw.evaluate(async () => {
      const api = (globalThis as unknown as { chrome: { tabs: { query(q: object): Promise<{ id: number }[]>; sendMessage(id: number, m: object, o: object): Promise<unknown> } } }).chrome;
      for (const tab of await api.tabs.query({})) await api.tabs.sendMessage(tab.id, { type: 'code', code: '123456', messageId: 'bench' }, { frameId: 0 }).catch(() => undefined);
    });
    const waiting = await measure();
    return { seconds, idle: idle.ms / seconds, waiting: waiting.ms / seconds, nodesPerSecond: idle.nodes / seconds };
  } finally {
    await browser.close();
  }
}

async function latency(pages: PageServer, runs: number, progress: (line: string) => void): Promise<ExtensionFigures['latency']> {
  const relay = await startRelay();
  const browser = await launchChromium();
  const frameToField: number[] = [];
  const smtpToField: number[] = [];
  let ws: WebSocket | null = null;
  try {
    const options = await browser.context.newPage();
    await pairThroughOptions(options, `chrome-extension://${browser.extensionId}`, relay.http, relay.token);
    for (let i = 0; i < 50 && (await extStorage<{ state?: string }>(await browser.sw(), 'status'))?.state !== 'connected'; i++) await sleep(100);
    await options.close();

    const page: Page = await browser.context.newPage();
    await page.goto(pages.url('bench', 'otp.html'));
    const alias = (await (
      await fetch(`${relay.http}/api/aliases`, { method: 'POST', headers: { authorization: `Bearer ${relay.token}`, 'content-type': 'application/json' }, body: '{"site":"bench.test"}' })
    ).json()) as { address: string };

    // A second client of the same user: the moment the relay's frame reaches a socket.
    const arrived = new Map<string, number>();
    ws = new WebSocket(relay.http.replace(/^http/, 'ws') + '/api/ws');
    const socket = ws;
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.send(JSON.stringify({ type: 'auth', token: relay.token }));
    socket.on('message', (data) => {
      // Date.now() on both sides: one system clock (performance.timeOrigin differs per process).
      const at = Date.now();
      const frame = JSON.parse(String(data)) as { type: string; message?: { code: string | null } };
      if (frame.type === 'message' && frame.message?.code) arrived.set(frame.message.code, at);
    });
    await sleep(300);

    for (let i = 0; i < runs + 2; i++) {
      const code = String(100000 + Math.floor(Math.random() * 899999));
      await page.evaluate(() => {
        (document.getElementById('otp') as HTMLInputElement).value = '';
        (window as unknown as { wispFixture: { events: unknown[] } }).wispFixture.events.length = 0;
      });
      const sent = await (async () => {
        await sendMail(relay, { to: alias.address, subject: 'Your code', text: `Your verification code is ${code}.` });
        return Date.now();
      })();
      const handle = await page
        .waitForFunction(
          (c) => (window as unknown as { wispFixture: { events: { name: string; value: string; at: number }[] } }).wispFixture.events.find((e) => e.name === 'otp' && e.value === c)?.at,
          code,
          { timeout: 5000, polling: 'raf' },
        )
        .catch(() => null);
      const filledAt = handle ? ((await handle.jsonValue()) as number) : undefined;
      const frameAt = arrived.get(code);
      if (i < 2 || filledAt === undefined || frameAt === undefined) continue; // two warm-up rounds
      frameToField.push(filledAt - frameAt);
      smtpToField.push(filledAt - sent);
      progress(`frame → field ${(filledAt - frameAt).toFixed(1)} ms`);
    }
  } finally {
    ws?.close();
    await browser.close();
    await relay.stop();
  }
  return { frameToField, smtpToField };
}

export async function measureExtension(options: { quick: boolean; progress: (line: string) => void }): Promise<ExtensionFigures> {
  ensureBrowser(CHROMIUM, 'chromium');
  options.progress('building the extension');
  await buildExtension();
  const chrome = fs.readFileSync(path.join(CHROME_EXT, SCRIPT));
  const firefox = fs.statSync(path.join(FIREFOX_EXT, SCRIPT)).size;
  const pages = await startPageServer();
  try {
    const runs = options.quick ? 5 : 15;
    options.progress(`load cost: ${runs} loads of a large page without forms, with the content script and with an empty one`);
    const ours = await loadCost(CHROME_EXT, SCRIPT, pages, runs);
    const empty = emptyExtension();
    const floor = await loadCost(empty, 'empty.js', pages, runs).finally(() => fs.rmSync(empty, { recursive: true, force: true }));
    options.progress('churn: a page that keeps adding nodes');
    const churn = await churnCost(pages, options.quick ? 3 : 10);
    options.progress('latency: relay frame → code in the field');
    const lat = await latency(pages, options.quick ? 5 : 20, options.progress);
    return {
      size: { chrome: chrome.length, chromeGzip: gzipSync(chrome).length, firefox },
      load: { ours: ours.times, later: ours.later, floor: floor.times, gc: ours.gc, pageNodes: ours.nodes },
      churn,
      latency: lat,
    };
  } finally {
    await pages.close();
  }
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const verdict = (ok: boolean) => (ok ? 'pass' : 'FAIL');

export function extensionReport(f: ExtensionFigures): string {
  const oursMs = median(f.load.ours);
  const floorMs = median(f.load.floor);
  const own = oursMs - floorMs;
  const p = (v: number[], q: number) => ms(quantile(v, q));
  return [
    '',
    `(g) content script size (${SCRIPT}, minified)`,
    textTable(['build', 'bytes', 'gzip'], [
      ['chrome-mv3', kb(f.size.chrome), kb(f.size.chromeGzip)],
      ['firefox-mv2', kb(f.size.firefox), ''],
    ]),
    '',
    `(h) main-thread time of the content script while a page without forms loads (${f.load.pageNodes.toLocaleString('en-US')} elements), median of ${f.load.ours.length} loads,`,
    `    not counting the page's own garbage collection that V8 finished inside it (median ${ms(median(f.load.gc))}, also inside an empty script)`,
    textTable(['script', 'min', 'median', 'p90'], [
      ['wisp content script', ms(Math.min(...f.load.ours)), ms(oursMs), p(f.load.ours, 0.9)],
      ['an empty content script (Chrome’s cost of having one)', ms(Math.min(...f.load.floor)), ms(floorMs), p(f.load.floor, 0.9)],
      ['wisp’s own share', ms(Math.min(...f.load.ours) - Math.min(...f.load.floor)), ms(own), ''],
      ['wisp, deferred to the first idle moment (starts listening to the background)', ms(Math.min(...f.load.later)), ms(median(f.load.later)), p(f.load.later, 0.9)],
    ]),
    `    machine load average ${os.loadavg()[0]!.toFixed(2)} on ${os.cpus().length} cores${os.loadavg()[0]! > os.cpus().length * 0.5 ? ': ⚠ other work skews these figures' : ''}`,
    '',
    `(i) main-thread time of the content script on a page adding ${Math.round(f.churn.nodesPerSecond).toLocaleString('en-US')} nodes/s, over ${f.churn.seconds} s`,
    textTable(['state', 'per second of page time'], [
      ['idle (no code awaited): no observer at all', ms(f.churn.idle)],
      ['waiting for a code field (observer on, checks ≤ 5/s)', ms(f.churn.waiting)],
    ]),
    '',
    `(j) a code's way into the page, ${f.latency.frameToField.length} mails through a real relay`,
    textTable(['from', 'median', 'p95', 'max'], [
      ['relay WebSocket frame → code in the field', ms(median(f.latency.frameToField)), p(f.latency.frameToField, 0.95), ms(Math.max(...f.latency.frameToField))],
      ['SMTP 250 → code in the field', ms(median(f.latency.smtpToField)), p(f.latency.smtpToField, 0.95), ms(Math.max(...f.latency.smtpToField))],
    ]),
    '',
    markdownTable(['measure', 'result', 'target', 'verdict'], [
      ['content script size (minified)', kb(f.size.chrome), '< 30 KB', verdict(f.size.chrome < TARGET_SIZE)],
      [
        'content script main thread at load, large formless page: own share above an empty content script (min / median)',
        `${ms(Math.min(...f.load.ours) - Math.min(...f.load.floor))} / ${ms(own)}`,
        `< ${TARGET_LOAD_MS} ms`,
        verdict(Math.min(...f.load.ours) - Math.min(...f.load.floor) < TARGET_LOAD_MS),
      ],
      ['… deferred to the first idle moment (median)', ms(median(f.load.later)), '', ''],
      ['… on a page that keeps adding nodes, idle', `${ms(f.churn.idle)} per s`, '', ''],
      ['… while waiting for a code field', `${ms(f.churn.waiting)} per s`, '', ''],
      ['relay frame → code in the field (median / p95)', `${ms(median(f.latency.frameToField))} / ${p(f.latency.frameToField, 0.95)}`, '', ''],
      ['SMTP 250 → code in the field (median)', ms(median(f.latency.smtpToField)), '', ''],
    ]),
  ].join('\n');
}

export async function extensionBenches(options: { quick: boolean; progress: (line: string) => void }): Promise<string> {
  return extensionReport(await measureExtension(options));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } }, strict: true });
  extensionBenches({ quick: values.quick, progress: (line) => void process.stderr.write(`  … ${line}\n`) }).then(
    (text) => process.stdout.write(`${text}\n`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
