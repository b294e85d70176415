// (h) Two relay nodes sharing one PostgreSQL database: ingest through one node against the same
// load split over both, and the push latency across nodes (250 on node A → WebSocket frame on
// node B, through LISTEN/NOTIFY). Runs only with `--db postgres://…`.
//
// The run gets a schema of its own in that database (dropped at the end), so every run starts
// from an empty store whatever earlier runs left, and the mail benches' fixed user names never
// collide.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Api, PushListener } from './api.ts';
import { reusedConnections } from './load.ts';
import type { LoadResult, Target } from './load.ts';
import { deliveryLatency, messages, Sequence } from './measure.ts';
import type { RunOptions } from './phases.ts';
import { KB } from './plan.ts';
import { startRelay } from './relay-process.ts';
import type { Relay } from './relay-process.ts';
import { median, ms, quantile, rate, ratio, textTable } from './stats.ts';

export const isPostgres = (url: string | undefined): url is string => url !== undefined && /^postgres(ql)?:/i.test(url);

/** `url` with a fresh schema of the run's own (unless it names one), and how to drop it again. */
export function benchDatabase(url: string | undefined, tag: string): { url: string | undefined; drop(): Promise<void> } {
  if (!isPostgres(url) || new URL(url).searchParams.has('schema')) return { url, drop: async () => {} };
  const schema = `wisp_bench_${tag.toLowerCase().replace(/[^a-z0-9_]/g, '')}`;
  const withSchema = new URL(url);
  withSchema.searchParams.set('schema', schema);
  return {
    url: withSchema.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface TwoNodeResult {
  connections: number;
  perConnection: number;
  rounds: number;
  one: number[];
  two: number[];
  /** 250 on A → frame on B, ms. */
  crossMs: number[];
}

/** Both targets loaded at once, `connections` split between them; messages/s over the joint span. */
async function split(targets: Target[], recipients: readonly string[], connections: number, total: number, options: { sequence: Sequence; size: number; tag: string }): Promise<number> {
  const share = Math.floor(connections / targets.length);
  const starts: number[] = [];
  const results: LoadResult[] = await Promise.all(
    targets.map((target, i) =>
      reusedConnections(target, {
        connections: share,
        total: Math.floor(total / targets.length),
        // Each node gets its own slice of the addresses, as a load balancer would spread senders.
        source: messages(options.sequence, recipients.slice(i * share, (i + 1) * share), options.size, options.tag, Math.floor(total / targets.length)),
        onClockStart: () => void starts.push(performance.now()),
      }),
    ),
  );
  for (const r of results) if (r.errors.length > 0) throw new Error(`two nodes: ${r.errors.length} messages failed; first: ${r.errors[0]}`);
  const start = Math.min(...starts);
  const end = Math.max(...results.map((r, i) => (starts[i] ?? start) + r.elapsedMs));
  return (results.reduce((sum, r) => sum + r.delivered, 0) * 1000) / (end - start);
}

export async function twoNodes(run: RunOptions): Promise<TwoNodeResult> {
  const { plan, tag, progress } = run;
  const dirs = ['A', 'B'].map((n) => mkdtempSync(path.join(os.tmpdir(), `wisp-bench-node${n}-`)));
  const relays: Relay[] = [];
  try {
    for (const [i, dataDir] of dirs.entries()) {
      relays.push(
        await startRelay({
          dataDir,
          user: `benchnode${i}${tag}`,
          db: run.db,
          extraArgs: ['--log-level', 'warn', '--alias-rate-limit', '100000/1m'],
        }),
      );
    }
    const [a, b] = relays as [Relay, Relay];
    progress(`(h) two nodes on one database: A (pid ${a.pid}, smtp ${a.smtpPort}) and B (pid ${b.pid}, smtp ${b.smtpPort})`);
    const api = new Api(`http://${a.host}:${a.httpPort}`, a.token);
    const recipients: string[] = [];
    for (let i = 0; i < plan.reuseConnections; i++) recipients.push((await api.createAlias(`node${i}.example.com`)).address);
    const sequence = new Sequence();
    const size = plan.loadSize;
    const targetA = { host: a.host, port: a.smtpPort };
    const targetB = { host: b.host, port: b.smtpPort };

    const count = Math.min(plan.latency, 300);
    progress(`(h) cross-node push: ${count} messages into A, frames on B`);
    const push = await PushListener.connect(`ws://${b.host}:${b.httpPort}/api/ws`, a.token);
    const samples = await deliveryLatency({ target: targetA, push, to: recipients[0] ?? '', size, count, warmup: plan.latencyWarmup, sequence, tag }).finally(() =>
      push.close(),
    );

    const total = plan.reuseConnections * plan.reusePer;
    const rounds = Math.max(plan.reuseRounds, 1);
    const options = { sequence, size, tag };
    progress(`(h) ingest: warm-up, then ${rounds} rounds each of one node and of two nodes`);
    await split([targetA], recipients, plan.reuseConnections, total, options);
    await split([targetA, targetB], recipients, plan.reuseConnections, total, options);
    const one: number[] = [];
    const two: number[] = [];
    for (let round = 0; round < rounds; round++) {
      one.push(await split([targetA], recipients, plan.reuseConnections, total, options));
      two.push(await split([targetA, targetB], recipients, plan.reuseConnections, total, options));
    }
    return { connections: plan.reuseConnections, perConnection: plan.reusePer, rounds, one, two, crossMs: samples.deliveryMs };
  } catch (error) {
    for (const relay of relays) process.stderr.write(`\nlast relay output:\n${relay.tail()}\n\n`);
    throw error;
  } finally {
    await Promise.all(relays.map((r) => r.stop()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

export function twoNodeReport(r: TwoNodeResult, sizeBytes: number): string {
  const spread = (v: number[]) => (v.length > 1 ? ` [${Math.round(Math.min(...v))}–${Math.round(Math.max(...v))}]` : '');
  const one = median(r.one);
  const two = median(r.two);
  const load = `${r.connections} connections × ${r.perConnection} messages, ${sizeBytes / KB} KB`;
  return [
    '',
    `### (h) Two relay nodes sharing the PostgreSQL database (median of ${r.rounds} round${r.rounds === 1 ? '' : 's'}, [slowest–fastest])`,
    textTable(
      ['load', 'one node', 'two nodes', 'two / one'],
      [[load, `${rate(one)}${spread(r.one)}`, `${rate(two)}${spread(r.two)}`, ratio(two / one)]],
    ),
    '  two nodes: the same connections, half to each node, at once; rate over the joint span.',
    '  Both nodes run on this machine beside PostgreSQL and the load client: this shows what the shared',
    '  database allows, not what separate machines would add.',
    textTable(
      ['', 'p50', 'p99', 'max'],
      [[`250 on node A → WebSocket frame on node B (${r.crossMs.length})`, ms(quantile(r.crossMs, 0.5)), ms(quantile(r.crossMs, 0.99)), ms(Math.max(...r.crossMs))]],
    ),
    '',
  ].join('\n');
}
