// The two halves of a run, each on a relay of its own with a fresh data directory:
//   one: delivery latency (a) and ingest against the ceiling (b), on an empty store;
//   two: memory with a full store (c) and growth from N to 4N stored messages (d).

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Api, PushListener } from './api.ts';
import { machineBusySeconds, processCpuSeconds } from './cpu.ts';
import type { DiscardServer } from './discard-server.ts';
import { deliveryLatency, fill, listing, oneShotShape, reusedShape, Sequence, throughput } from './measure.ts';
import type { ListingResult, ShapeResult } from './measure.ts';
import type { Plan } from './plan.ts';
import { startRelay } from './relay-process.ts';
import type { Memory, Relay } from './relay-process.ts';
import { count, mean, quantile } from './stats.ts';

export const CEILING = 'ceiling';
export const RELAY = 'relay';

export interface RunOptions {
  plan: Plan;
  /** --db for the relay; unset: its SQLite default inside the data directory. */
  db?: string;
  /** Directory for V8 CPU profiles of the relay processes. */
  profile?: string;
  /** Distinguishes this run's users and Message-IDs. */
  tag: string;
  progress: (line: string) => void;
}

export interface Latency {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
  /** MAIL FROM → 250 to DATA. */
  txP50: number;
  txP99: number;
}

/** CPU (in cores) that neither the bench nor the relay used while a phase ran: other work. */
export interface WithOtherWork {
  otherWork: number;
}

export interface PhaseOne extends WithOtherWork {
  latency: Latency | null;
  shapes: { label: string; rounds: number; result: ShapeResult }[];
}

export interface Level {
  stored: number;
  fillMs: number;
  filled: number;
  ingestPerSecond: number;
  list: ListingResult;
  memory: Memory;
}

export interface PhaseTwo extends WithOtherWork {
  idle: Memory;
  levels: Level[];
  storedByApi: number;
}

/** Runs `body` and measures the machine's busy time that neither this process nor `other` used. */
async function watchingOtherWork<T>(other: () => number, body: () => Promise<T>): Promise<T & WithOtherWork> {
  const snapshot = () => ({ machine: machineBusySeconds({ interrupts: false }), own: processCpuSeconds(process.pid), other: other(), at: performance.now() });
  const before = snapshot();
  const result = await body();
  const after = snapshot();
  const foreign = after.machine - before.machine - (after.own - before.own) - (after.other - before.other);
  return { ...result, otherWork: Math.max(0, foreign) / ((after.at - before.at) / 1000) };
}

async function withRelay<T>(run: RunOptions, label: string, body: (relay: Relay, api: Api) => Promise<T>): Promise<T & WithOtherWork> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `wisp-bench-${label}-`));
  let relay: Relay | null = null;
  try {
    relay = await startRelay({
      dataDir,
      user: `bench${label}${run.tag}`,
      db: run.db,
      extraArgs: ['--log-level', 'warn', '--alias-rate-limit', '100000/1m'],
      nodeArgs: run.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(run.profile)}`] : [],
    });
    run.progress(`relay ${label} up (pid ${relay.pid}, http ${relay.httpPort}, smtp ${relay.smtpPort})`);
    const started = relay;
    return await watchingOtherWork(
      () => started.cpuSeconds(),
      () => body(started, new Api(`http://${started.host}:${started.httpPort}`, started.token)),
    );
  } catch (error) {
    if (relay) process.stderr.write(`\nlast relay output:\n${relay.tail()}\n\n`);
    throw error;
  } finally {
    await relay?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function makeAliases(api: Api, prefix: string, n: number): Promise<string[]> {
  const addresses: string[] = [];
  for (let i = 0; i < n; i++) addresses.push((await api.createAlias(`${prefix}${i}.example.com`)).address);
  return addresses;
}

/** (a) and (b); with no relay (ceilingOnly) just the ceiling's side of (b). */
export async function phaseOne(run: RunOptions, ceiling: DiscardServer, ceilingOnly: boolean): Promise<PhaseOne> {
  const { plan, tag, progress } = run;
  const loads = [
    {
      label: `(i) ${plan.reuseConnections} connections × ${plan.reusePer} messages, reused`,
      shape: reusedShape(plan.reuseConnections, plan.reusePer),
      rounds: plan.reuseRounds,
    },
    {
      label: `(ii) ${plan.oneShot} concurrent one-message connections`,
      shape: oneShotShape(plan.oneShot),
      rounds: plan.oneShotRounds,
    },
  ];
  const sequence = new Sequence();
  const size = plan.loadSize;
  const ceilingTarget = {
    name: CEILING,
    target: ceiling,
    recipients: ['sink@wisp.localhost'],
    warmup: plan.ceilingWarmup,
    cpuSeconds: async () => (await ceiling.stats()).cpuSeconds,
  };

  if (ceilingOnly) {
    return watchingOtherWork(
      () => 0,
      async () => {
        const shapes = [];
        for (const { label, shape, rounds } of loads) {
          progress(`ceiling ${label}`);
          shapes.push({ label, rounds, result: await throughput({ targets: [ceilingTarget], shape, rounds, size, sequence, tag }) });
        }
        return { latency: null, shapes };
      },
    );
  }

  return withRelay(run, 'a', async (relay, api) => {
    const target = { host: relay.host, port: relay.smtpPort };
    const [latencyAlias] = await makeAliases(api, 'latency', 1);
    const loadAliases = await makeAliases(api, 'load', plan.reuseConnections);

    progress(`(a) delivery latency: ${plan.latency} messages one at a time`);
    const push = await PushListener.connect(`ws://${relay.host}:${relay.httpPort}/api/ws`, relay.token);
    const samples = await deliveryLatency({
      target,
      push,
      to: latencyAlias ?? '',
      size,
      count: plan.latency,
      warmup: plan.latencyWarmup,
      sequence,
      tag,
    }).finally(() => push.close());
    const d = samples.deliveryMs;
    const latency: Latency = {
      n: d.length,
      p50: quantile(d, 0.5),
      p99: quantile(d, 0.99),
      max: Math.max(...d),
      mean: mean(d),
      txP50: quantile(samples.transactionMs, 0.5),
      txP99: quantile(samples.transactionMs, 0.99),
    };

    const relayTarget = {
      name: RELAY,
      target,
      recipients: loadAliases,
      warmup: plan.relayWarmup,
      cpuSeconds: () => relay.cpuSeconds(),
    };
    const shapes = [];
    for (const { label, shape, rounds } of loads) {
      progress(`(b) ${label}: warm-up, then ${rounds} measured rounds each against ceiling and relay`);
      const result = await throughput({ targets: [ceilingTarget, relayTarget], shape, rounds, size, sequence, tag });
      shapes.push({ label, rounds, result });
    }
    return { latency, shapes };
  });
}

/** (c) and (d). */
export async function phaseTwo(run: RunOptions): Promise<PhaseTwo> {
  const { plan, tag, progress } = run;
  return withRelay(run, 'b', async (relay, api) => {
    const target = { host: relay.host, port: relay.smtpPort };
    const idle = relay.memory();
    const recipients = await makeAliases(api, 'fill', plan.fillConnections);
    const sequence = new Sequence();
    const sample = reusedShape(plan.reuseConnections, plan.reusePer);
    const levels: Level[] = [];
    let stored = 0;
    for (const goal of [plan.n, 4 * plan.n]) {
      progress(`(c/d) filling to ${count(goal)} messages of ${plan.fillSize / 1024} KB over ${plan.fillConnections} connections`);
      const base = stored;
      const step = Math.max(1000, Math.round((goal - base) / 5 / 1000) * 1000);
      const filled = await fill({
        target,
        recipients,
        connections: plan.fillConnections,
        count: goal - stored,
        size: plan.fillSize,
        sequence,
        tag,
        onProgress: (n) => {
          if (n % step === 0) progress(`   ${count(base + n)} stored`);
        },
      });
      stored += filled.delivered;
      const list = await listing(api, { stored, alias: recipients[0] ?? '', repeats: plan.listRepeats });
      progress(`(d) ingest sample at ${count(stored)} stored`);
      const warmup = 1;
      const ingest = await throughput({
        targets: [{ name: RELAY, target, recipients, warmup }],
        shape: sample,
        rounds: plan.sampleRounds,
        size: plan.loadSize,
        sequence,
        tag,
      });
      levels.push({
        stored: goal,
        fillMs: filled.elapsedMs,
        filled: filled.delivered,
        ingestPerSecond: ingest.perSecond.get(RELAY) ?? Number.NaN,
        list,
        memory: relay.memory(),
      });
      stored += (warmup + plan.sampleRounds) * sample.total;
    }
    const storedByApi = (await api.aliases()).reduce((sum, a) => sum + a.messageCount, 0);
    return { idle, levels, storedByApi };
  });
}
