// Runs the relay as a child process (so it has a core of its own) and reads its memory and CPU
// from /proc.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { processCpuSeconds, processTree } from './cpu.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(REPO_ROOT, 'bin/wisp-relay.js');
const HOST = '127.0.0.1';

export interface RelayOptions {
  dataDir: string;
  /** The user to create (with `user add`) and act as; unique per run when a --db is shared. */
  user: string;
  /** Passed through as --db when set. */
  db?: string;
  /** Anything else for `serve`. */
  extraArgs?: string[];
  /** Options for node itself, e.g. --cpu-prof. */
  nodeArgs?: string[];
  startTimeoutMs?: number;
}

export interface Memory {
  /** Peak resident set (VmHWM) in KiB, summed over the relay's process tree. */
  hwmKib: number;
  /** Current resident set (VmRSS) in KiB, summed over the relay's process tree. */
  rssKib: number;
  processes: number;
}

export interface Relay {
  host: string;
  pid: number;
  httpPort: number;
  smtpPort: number;
  token: string;
  /** The relay's last lines of output, for error reports. */
  tail(): string;
  memory(): Memory;
  /** CPU seconds (user + system) used so far by the relay's process tree. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

function baseArgs(options: RelayOptions): string[] {
  return ['--data', options.dataDir, ...(options.db ? ['--db', options.db] : [])];
}

/** `wisp-relay user add NAME`: the token it prints alone on its line, or null if that fails. */
async function addUser(options: RelayOptions, name: string): Promise<string | null> {
  const child = spawn(process.execPath, [BIN, 'user', 'add', name, ...baseArgs(options)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.resume();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) return null;
  const tokens = out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[\w.~+/=-]{16,}$/.test(l));
  return tokens.at(-1) ?? null;
}

function statusField(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) : 0;
}

export async function startRelay(options: RelayOptions): Promise<Relay> {
  // A user made up front gives a token even when --log-level hides the first-start line.
  const presetToken = await addUser(options, options.user);
  const args = [
    BIN,
    'serve',
    ...baseArgs(options),
    '--host',
    HOST,
    '--http-port',
    '0',
    '--smtp-port',
    '0',
    '--submission-port',
    'off',
    '--imap-port',
    'off',
    '--pop3-port',
    'off',
    ...(options.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeArgs ?? []), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const remember = (line: string): void => {
    lines.push(line);
    if (lines.length > 40) lines.shift();
  };
  const tail = (): string => lines.join('\n');
  if (child.stderr) createInterface({ input: child.stderr }).on('line', remember);

  const ports = new Map<string, number>();
  let token = presetToken;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the relay did not report http and smtp listeners within ${options.startTimeoutMs ?? 30000} ms\n${tail()}`)),
      options.startTimeoutMs ?? 30000,
    );
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the relay exited during start (${signal ?? `code ${code}`})\n${tail()}`));
    });
    if (!child.stdout) return;
    createInterface({ input: child.stdout }).on('line', (line) => {
      remember(line);
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (typeof entry !== 'object' || entry === null) return;
      const log = entry as { msg?: unknown; service?: unknown; port?: unknown; token?: unknown };
      if (log.msg === 'listening' && typeof log.service === 'string' && typeof log.port === 'number') {
        ports.set(log.service, log.port);
      }
      if (token === null && typeof log.token === 'string') token = log.token;
      if (ports.has('http') && ports.has('smtp') && token !== null) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  try {
    await ready;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const pid = child.pid ?? 0;
  return {
    host: HOST,
    pid,
    httpPort: ports.get('http') ?? 0,
    smtpPort: ports.get('smtp') ?? 0,
    token: token ?? '',
    tail,
    memory() {
      const tree = processTree(pid);
      let hwmKib = 0;
      let rssKib = 0;
      for (const p of tree) {
        try {
          const status = readFileSync(`/proc/${p}/status`, 'utf8');
          hwmKib += statusField(status, 'VmHWM');
          rssKib += statusField(status, 'VmRSS');
        } catch {
          // gone
        }
      }
      return { hwmKib, rssKib, processes: tree.length };
    },
    cpuSeconds() {
      return processTree(pid).reduce((sum, p) => sum + processCpuSeconds(p), 0);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(timer);
    },
  };
}
