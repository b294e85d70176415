// Starts the relay as a child process with the mail listeners the POP3 and submission benches need
// (relay-process.ts starts it with those off), and waits for their listening lines.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { REPO_ROOT } from './relay-process.ts';

const BIN = path.join(REPO_ROOT, 'bin/wisp-relay.js');

export interface MailRelay {
  pid: number;
  ports: Record<string, number>;
  token: string;
  user: string;
  tail(): string;
  stop(): Promise<void>;
}

function runCli(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.resume();
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

/** `services`: the listeners to turn on (port 0) and wait for; every other one is off. */
export async function startMailRelay(dataDir: string, services: string[], extraArgs: string[] = []): Promise<MailRelay> {
  // Unique: with a shared database (--db postgres://…) every relay of the run sees the same users.
  const user = `bench${Math.random().toString(36).slice(2, 8)}`;
  const added = await runCli(['user', 'add', user, '--data', dataDir]);
  const token = added.out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('wisp_')).at(-1);
  if (added.code !== 0 || !token) throw new Error(`user add failed: ${added.out}`);
  const all = ['http', 'smtp', 'submission', 'smtps', 'imap', 'imaps', 'pop3', 'pop3s'];
  const portArgs = all.flatMap((s) => [`--${s}-port`, services.includes(s) ? '0' : 'off']);
  const child = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--log-level', 'warn', '--alias-rate-limit', '100000/1m', ...portArgs, ...extraArgs], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const remember = (line: string) => {
    lines.push(line);
    if (lines.length > 40) lines.shift();
  };
  createInterface({ input: child.stderr }).on('line', remember);
  const ports: Record<string, number> = {};
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the relay did not start\n${lines.join('\n')}`)), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the relay exited (${code})\n${lines.join('\n')}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      remember(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; service?: string; port?: number };
        if (entry.msg === 'listening' && entry.service && entry.port) ports[entry.service] = entry.port;
      } catch {
        return;
      }
      if (services.every((s) => ports[s])) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    pid: child.pid ?? 0,
    ports,
    token,
    user,
    tail: () => lines.join('\n'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
