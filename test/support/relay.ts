// Black-box harness: runs the real `bin/wisp-relay.js` in a child process on a fresh data
// directory and talks to it only over its sockets and its command line.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import WebSocket from 'ws';
import type { Alias, CreateAliasRequest, Summary, WsServerFrame } from '../../shared/api.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'wisp-relay.js');
export const DEFAULT_DOMAIN = 'wisp.localhost';

export type PortService = 'http' | 'smtp' | 'submission' | 'smtps' | 'imap' | 'imaps' | 'pop3' | 'pop3s';

export interface RelayOptions {
  /** Port option per service; default: http and smtp `0`, submission/imap/pop3 `off`. */
  ports?: Partial<Record<PortService, string>>;
  /** Extra `serve` arguments, e.g. ['--default-ttl', '1h']. */
  args?: string[];
  /** Extra environment (WISP_* variables of the parent are never inherited). */
  env?: Record<string, string>;
  /** Reuse this data directory instead of a fresh one (it is then not removed by stop()). */
  dataDir?: string;
  /** How long to wait for the listening lines. */
  startTimeoutMs?: number;
  /** false: pass no port flags at all (ports then come from `env`); give `expect` then. */
  portFlags?: boolean;
  /** Services whose listening line to wait for (default: those whose port is not off). */
  expect?: PortService[];
}

export interface Relay {
  /** Base URL of the HTTP listener, e.g. http://127.0.0.1:40123 */
  http: string;
  httpPort: number;
  smtpPort: number;
  /** Every service's actual port from its listening line. */
  ports: Partial<Record<PortService, number>>;
  dataDir: string;
  /** Token of the first user (`me`), from the first-start line. */
  token: string;
  user: string;
  /** stdout lines of every run of this relay, in order. */
  logs: string[];
  /** stderr lines of every run. */
  stderr: string[];
  /** The current child process. */
  proc: ChildProcess;
  /** Did the last (re)start print the "first user created" line? */
  printedFirstUser: boolean;
  /** SIGTERM (then SIGKILL after a grace period), and remove a temp data dir. */
  stop(): Promise<void>;
  /** Send a signal and wait for the process to exit; the data dir stays. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Start again on the same data dir with the same options (ports may change). */
  restart(): Promise<void>;
  /** Everything the relay printed, for error messages. */
  output(): string;
}

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
process.once('exit', () => {
  for (const p of live) signal(p, 'SIGKILL');
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

export function makeTempDir(prefix = 'wisp-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** The environment for a child: ours without any WISP_* variable, plus `extra`. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WISP_')) env[k] = v;
  return { ...env, ...extra };
}

export function parseJsonLine(line: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(line);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  let rest = '';
  return (chunk) => {
    rest += chunk.toString('utf8');
    let i: number;
    while ((i = rest.indexOf('\n')) !== -1) {
      onLine(rest.slice(0, i).replace(/\r$/, ''));
      rest = rest.slice(i + 1);
    }
  };
}

/** Signals the child's whole process group (it was spawned detached), or the child alone. */
function signal(p: ChildProcess, sig: NodeJS.Signals): void {
  try {
    if (p.pid !== undefined) process.kill(-p.pid, sig);
    else p.kill(sig);
  } catch {
    try {
      p.kill(sig);
    } catch {
      /* gone */
    }
  }
}

function waitExit(p: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve({ code: p.exitCode, signal: p.signalCode });
  return new Promise((resolve) => p.once('exit', (code, sig) => resolve({ code, signal: sig })));
}

export async function startRelay(opts: RelayOptions = {}): Promise<Relay> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? makeTempDir();
  const ports: Record<string, string> = { http: '0', smtp: '0', submission: 'off', imap: 'off', pop3: 'off', ...opts.ports };
  const args = ['serve', '--data', dataDir];
  if (opts.portFlags !== false) for (const [service, value] of Object.entries(ports)) args.push(`--${service}-port`, value);
  args.push(...(opts.args ?? []));
  const expected: string[] =
    opts.expect ??
    Object.entries(ports)
      .filter(([, v]) => v.trim().toLowerCase() !== 'off')
      .map(([k]) => k);
  const timeout = opts.startTimeoutMs ?? 30_000;

  const relay = {
    http: '',
    httpPort: 0,
    smtpPort: 0,
    ports: {},
    dataDir,
    token: '',
    user: 'me',
    logs: [],
    stderr: [],
    printedFirstUser: false,
  } as unknown as Relay;

  relay.output = () =>
    `--- stdout ---\n${relay.logs.slice(-80).join('\n')}\n--- stderr ---\n${relay.stderr.slice(-80).join('\n')}`;

  async function launch(expectFirstUser: boolean): Promise<void> {
    // its own process group, so that a signal reaches any helper process the bin starts too
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: childEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    relay.proc = child;
    relay.ports = {};
    relay.printedFirstUser = false;
    const seen = new Map<string, number>();
    let firstUser: { user: string; token: string } | null = null;
    let wake: () => void = () => {};

    child.stdout!.on(
      'data',
      lineSplitter((line) => {
        relay.logs.push(line);
        const obj = parseJsonLine(line);
        if (!obj) return;
        if (obj.msg === 'listening' && typeof obj.service === 'string' && typeof obj.port === 'number') {
          seen.set(obj.service, obj.port);
        }
        if (obj.msg === 'first user created' && typeof obj.token === 'string') {
          firstUser = { user: typeof obj.user === 'string' ? obj.user : 'me', token: obj.token };
        }
        wake();
      }),
    );
    child.stderr!.on(
      'data',
      lineSplitter((line) => relay.stderr.push(line)),
    );

    const deadline = Date.now() + timeout;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (expected.every((s) => seen.has(s))) {
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null, sig: string | null) => {
        clearTimeout(timer);
        reject(new Error(`relay exited (code ${code}, signal ${sig}) before listening on ${expected.join(', ')}\n${relay.output()}`));
      };
      const timer = setTimeout(() => {
        child.off('exit', onExit);
        signal(child, 'SIGKILL');
        reject(
          new Error(
            `relay did not log "listening" for ${expected.filter((s) => !seen.has(s)).join(', ')} within ${timeout} ms\n${relay.output()}`,
          ),
        );
      }, Math.max(0, deadline - Date.now()));
      wake = check;
      child.once('exit', onExit);
      check();
    });
    // on a fresh data dir the "first user created" line may follow the listening lines
    if (expectFirstUser && !firstUser) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 3000);
        wake = () => {
          if (firstUser) {
            clearTimeout(t);
            resolve();
          }
        };
      });
    }
    wake = () => {};

    for (const [service, port] of seen) relay.ports[service as PortService] = port;
    relay.httpPort = seen.get('http') ?? 0;
    relay.smtpPort = seen.get('smtp') ?? 0;
    relay.http = relay.httpPort ? `http://127.0.0.1:${relay.httpPort}` : '';
    if (firstUser) {
      const fu = firstUser as { user: string; token: string };
      relay.printedFirstUser = true;
      relay.user = fu.user;
      relay.token = fu.token;
    }
  }

  relay.kill = async (sig: NodeJS.Signals = 'SIGKILL') => {
    const p = relay.proc;
    const done = waitExit(p);
    if (p.exitCode === null && p.signalCode === null) signal(p, sig);
    const exit = await done;
    if (sig === 'SIGKILL') signal(p, 'SIGKILL'); // and anything left in its group
    return exit;
  };

  const terminate = async () => {
    const p = relay.proc;
    if (p.exitCode !== null || p.signalCode !== null) return;
    const done = waitExit(p);
    signal(p, 'SIGTERM');
    const t = setTimeout(() => signal(p, 'SIGKILL'), 10_000);
    await done;
    clearTimeout(t);
    signal(p, 'SIGKILL'); // anything left in its group
  };

  relay.stop = async () => {
    if (relay.proc) await terminate();
    if (ownDir) removeTempDir(dataDir);
  };

  relay.restart = async () => {
    await terminate();
    await launch(false);
  };

  await launch(fs.readdirSync(dataDir).length === 0);
  if (!relay.printedFirstUser && !opts.dataDir) {
    // The first-start line is checked by cli.test.ts; here the rest of the suite carries on
    // with a token made by the CLI so that one missing line does not fail every file.
    const r = await cli(['user', 'token', 'me', '--data', dataDir]);
    const tok = tokenFrom(r.stdout);
    if (r.code !== 0 || !tok) {
      await relay.stop();
      throw new Error(`first start printed no "first user created" line and \`user token me\` failed\n${relay.output()}\n${r.stderr}`);
    }
    relay.token = tok;
  }
  return relay;
}

// ---------------------------------------------------------------- CLI

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Killed by the timeout. */
  timedOut: boolean;
}

/** Runs `node bin/wisp-relay.js ...args` to completion (killed after timeoutMs). */
export function cli(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number; stopWhen?: (stdout: string) => boolean } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    live.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      if (opts.stopWhen?.(stdout)) signal(child, 'SIGKILL');
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const t = setTimeout(() => {
      timedOut = true;
      signal(child, 'SIGKILL');
    }, opts.timeoutMs ?? 20_000);
    child.once('exit', () => {
      clearTimeout(t);
      live.delete(child);
      signal(child, 'SIGKILL'); // nothing of it may outlive it
    });
    child.once('close', () => resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr, timedOut }));
  });
}

/** The token line of `user add` / `user token` output: the one line that is a token alone. */
export function tokenFrom(stdout: string): string | null {
  const lines = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && /^\S+$/.test(l) && !l.startsWith('{'));
  return lines.length === 1 ? (lines[0] as string) : (lines.at(-1) ?? null);
}

/** `user add NAME` on the relay's data dir → token. */
export async function addUser(relay: Pick<Relay, 'dataDir'>, name: string): Promise<string> {
  const r = await cli(['user', 'add', name, '--data', relay.dataDir]);
  const tok = tokenFrom(r.stdout);
  if (r.code !== 0 || !tok) throw new Error(`user add ${name} failed (code ${r.code}): ${r.stdout}\n${r.stderr}`);
  return tok;
}

/** Runs an external program (swaks, python3) with a timeout; code null means killed or not started. */
export function run(
  file: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const t = setTimeout(() => {
      stderr += `\n[killed after ${opts.timeoutMs ?? 20_000} ms]`;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 20_000);
    child.once('error', (e) => {
      clearTimeout(t);
      resolve({ code: null, stdout, stderr: stderr + String(e) });
    });
    child.once('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

// ---------------------------------------------------------------- HTTP

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON, or undefined if the body is not JSON. */
  body: T;
  json: boolean;
}

/**
 * One HTTP request to the relay. `body`: an object is sent as JSON, a string as is (with a JSON
 * content type). `token`: default the relay's token; null sends no Authorization header.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function api<T = any>(
  relay: Pick<Relay, 'http' | 'token'>,
  method: string,
  urlPath: string,
  body?: unknown,
  token: string | null = relay.token,
  extraHeaders: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...extraHeaders };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let payload: string | undefined;
  if (body !== undefined) {
    headers['content-type'] ??= 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(relay.http + urlPath, { method, headers, body: payload });
  const text = await res.text();
  let parsed: unknown = undefined;
  let json = false;
  try {
    parsed = JSON.parse(text);
    json = true;
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, text, body: parsed as T, json };
}

/** Like api(), but throws unless the status is the expected one; returns the body. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function apiOk<T = any>(
  relay: Pick<Relay, 'http' | 'token'>,
  method: string,
  urlPath: string,
  body?: unknown,
  expectStatus?: number,
  token?: string | null,
): Promise<T> {
  const r = await api<T>(relay, method, urlPath, body, token === undefined ? relay.token : token);
  const want = expectStatus ?? (method === 'POST' ? 201 : method === 'DELETE' ? 204 : 200);
  if (r.status !== want) throw new Error(`${method} ${urlPath} → ${r.status}, expected ${want}: ${r.text.slice(0, 500)}`);
  return r.body;
}

export const enc = encodeURIComponent;

// ---------------------------------------------------------------- WebSocket

export interface WsClient {
  ws: WebSocket;
  /** Every frame received so far, in order (parsed JSON; raw text kept in `raw`). */
  frames: WsServerFrame[];
  raw: { text: string; binary: boolean }[];
  /** Takes the oldest frame not yet taken; rejects on timeout or when the socket closes first. */
  next(timeoutMs?: number): Promise<WsServerFrame>;
  /** Takes the oldest frame (taken or arriving) that matches; other frames stay queued. */
  until<F extends WsServerFrame = WsServerFrame>(pred: (f: WsServerFrame) => boolean, timeoutMs?: number): Promise<F>;
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string; at: number }>;
  /** Frames received but not yet taken. */
  pending(): WsServerFrame[];
  send(frame: unknown): void;
  close(): void;
  openedAt: number;
}

interface Waiter {
  pred: (f: WsServerFrame) => boolean;
  resolve: (f: WsServerFrame) => void;
  reject: (e: Error) => void;
}

/**
 * Opens /api/ws. With a token, sends the auth frame (with `since` when given) as soon as the
 * socket is open; with null, sends nothing.
 */
export async function openWs(relay: Pick<Relay, 'http'>, token: string | null, since?: string): Promise<WsClient> {
  const url = relay.http.replace(/^http/, 'ws') + '/api/ws';
  const ws = new WebSocket(url);
  const frames: WsServerFrame[] = [];
  const raw: { text: string; binary: boolean }[] = [];
  const queue: WsServerFrame[] = [];
  const waiters: Waiter[] = [];
  let closeInfo: { code: number; reason: string; at: number } | null = null;
  let resolveClosed!: (v: { code: number; reason: string; at: number }) => void;
  const closed = new Promise<{ code: number; reason: string; at: number }>((r) => (resolveClosed = r));

  ws.on('message', (data, isBinary) => {
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    raw.push({ text, binary: isBinary });
    let frame: WsServerFrame;
    try {
      frame = JSON.parse(text) as WsServerFrame;
    } catch {
      frame = { type: '__unparseable__', text } as unknown as WsServerFrame;
    }
    frames.push(frame);
    const i = waiters.findIndex((w) => w.pred(frame));
    if (i !== -1) {
      const [w] = waiters.splice(i, 1);
      w!.resolve(frame);
    } else queue.push(frame);
  });
  ws.on('close', (code, reason) => {
    closeInfo = { code, reason: reason.toString('utf8'), at: Date.now() };
    resolveClosed(closeInfo);
    for (const w of waiters.splice(0)) w.reject(new Error(`websocket closed (${code} ${reason.toString('utf8')}) before the expected frame`));
  });
  ws.on('error', () => {
    /* surfaced through close */
  });

  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`websocket upgrade refused: HTTP ${res.statusCode}`)));
    ws.once('error', (e) => reject(e));
  });
  const openedAt = Date.now();
  if (token !== null) ws.send(JSON.stringify(since === undefined ? { type: 'auth', token } : { type: 'auth', token, since }));

  const until = <F extends WsServerFrame>(pred: (f: WsServerFrame) => boolean, timeoutMs = 10_000): Promise<F> => {
    const i = queue.findIndex(pred);
    if (i !== -1) return Promise.resolve(queue.splice(i, 1)[0] as F);
    if (closeInfo) return Promise.reject(new Error(`websocket closed (${closeInfo.code} ${closeInfo.reason}); no matching frame`));
    return new Promise<F>((resolve, reject) => {
      const waiter: Waiter = {
        pred,
        resolve: (fr) => {
          clearTimeout(t);
          resolve(fr as F);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      };
      const t = setTimeout(() => {
        const k = waiters.indexOf(waiter);
        if (k !== -1) waiters.splice(k, 1);
        reject(new Error(`no matching websocket frame within ${timeoutMs} ms; frames so far: ${JSON.stringify(frames).slice(0, 3000)}`));
      }, timeoutMs);
      waiters.push(waiter);
    });
  };

  return {
    ws,
    frames,
    raw,
    next: (timeoutMs = 10_000) => until(() => true, timeoutMs),
    until,
    closed,
    pending: () => [...queue],
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    close: () => ws.close(),
    openedAt,
  };
}

export const isMessageFrame = (f: WsServerFrame): f is Extract<WsServerFrame, { type: 'message' }> => f.type === 'message';
export const isAliasFrame = (f: WsServerFrame): f is Extract<WsServerFrame, { type: 'alias' }> => f.type === 'alias';

// ---------------------------------------------------------------- SMTP via nodemailer

export interface MailOptions {
  from?: string;
  to: string | string[];
  subject?: string;
  text?: string;
  html?: string;
  messageId?: string;
  headers?: Record<string, string>;
  /** A complete RFC 5322 message, sent as is (envelope from `from`/`to`). */
  raw?: string | Buffer;
  attachments?: { filename: string; content: string | Buffer; contentType?: string }[];
}

export interface SendOptions {
  /** 'starttls': require STARTTLS (self-signed cert accepted); 'plain': never upgrade. */
  tls?: 'starttls' | 'plain';
  timeoutMs?: number;
}

/** Sends one message through the relay's SMTP port with nodemailer; resolves on the 250 reply. */
export async function sendMail(
  relay: Pick<Relay, 'smtpPort'>,
  mail: MailOptions,
  opts: SendOptions = {},
): Promise<SMTPTransport.SentMessageInfo> {
  const tls = opts.tls ?? 'plain';
  const timeout = opts.timeoutMs ?? 15_000;
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: relay.smtpPort,
    secure: false,
    ignoreTLS: tls === 'plain',
    requireTLS: tls === 'starttls',
    tls: { rejectUnauthorized: false },
    name: 'client.test',
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  try {
    const from = mail.from ?? 'sender@example.com';
    const envelope = { from, to: mail.to };
    if (mail.raw !== undefined) return await transport.sendMail({ envelope, raw: mail.raw });
    return await transport.sendMail({
      from,
      to: mail.to,
      subject: mail.subject ?? 'test',
      text: mail.text,
      html: mail.html,
      messageId: mail.messageId,
      headers: mail.headers,
      attachments: mail.attachments,
    });
  } finally {
    transport.close();
  }
}

/** Unique tag for subjects and Message-IDs. */
let counter = 0;
export function uniq(prefix = 'm'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Polls `fn` until it returns a truthy value (for state that has no event to await). */
export async function eventually<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 25;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- domain helpers

export const ALIAS_KEYS = ['active', 'address', 'createdAt', 'expiresAt', 'label', 'lastMessageAt', 'messageCount', 'site'];
export const SUMMARY_KEYS = ['alias', 'code', 'from', 'id', 'link', 'preview', 'receivedAt', 'seen', 'site', 'size', 'subject'];
export const DETAIL_EXTRA_KEYS = ['attachments', 'headers', 'html', 'text'];

/** POST /api/aliases, expecting 201. */
export async function createAlias(relay: Pick<Relay, 'http' | 'token'>, req: CreateAliasRequest = {}, token?: string): Promise<Alias> {
  return apiOk<Alias>(relay, 'POST', '/api/aliases', req, 201, token);
}

/** Follows `next` through every page of GET /api/messages?QUERY. */
export async function allMessages(
  relay: Pick<Relay, 'http' | 'token'>,
  query: Record<string, string> = {},
  token?: string,
): Promise<Summary[]> {
  const out: Summary[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const q = new URLSearchParams({ ...query, ...(cursor ? { cursor } : {}) });
    const body: { messages: Summary[]; next?: string | null } = await apiOk(relay, 'GET', `/api/messages?${q}`, undefined, 200, token);
    out.push(...body.messages);
    cursor = body.next ?? null;
    if (!cursor) return out;
  }
  throw new Error('more than 1000 pages of messages: is `next` ever null?');
}

/** Waits (via the API) until a message with this subject is listed for the token's user. */
export async function waitForSubject(relay: Pick<Relay, 'http' | 'token'>, subject: string, token?: string, timeoutMs = 10_000): Promise<Summary> {
  return eventually(async () => (await allMessages(relay, {}, token)).find((m) => m.subject === subject), timeoutMs, `a message "${subject}"`);
}

export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$/;

/** Follows `next` through every page of GET /api/aliases. */
export async function allAliases(relay: Pick<Relay, 'http' | 'token'>, token?: string): Promise<Alias[]> {
  const out: Alias[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const q = new URLSearchParams(cursor ? { cursor } : {});
    const body: { aliases: Alias[]; next?: string | null } = await apiOk(relay, 'GET', `/api/aliases?${q}`, undefined, 200, token);
    out.push(...body.aliases);
    cursor = body.next ?? null;
    if (!cursor) return out;
  }
  throw new Error('more than 1000 pages of aliases: is `next` ever null?');
}
