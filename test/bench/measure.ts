// The measurements themselves; phases.ts decides what to run, report.ts prints the results.

import { performance } from 'node:perf_hooks';
import type { Api, PushListener } from './api.ts';
import { oneShotConnections, reusedConnections } from './load.ts';
import type { LoadResult, MessageSource, Target } from './load.ts';
import { machineBusySeconds, threadCpuSeconds } from './cpu.ts';
import { buildMessage, codeFor, SENDER } from './message.ts';
import { SmtpConnection } from './smtp-client.ts';
import { median } from './stats.ts';

/** Hands out message indices so that every message of a run has a code of its own. */
export class Sequence {
  private next = 0;
  take(count: number): number {
    const first = this.next;
    this.next += count;
    return first;
  }
}

/** Messages of `size` bytes to the given recipients, connection c writing to recipients[c % n]. */
export function messages(sequence: Sequence, recipients: readonly string[], size: number, tag: string, count: number): MessageSource {
  const first = sequence.take(count);
  return (index, connection) => {
    const to = recipients[connection % recipients.length] ?? '';
    return { from: SENDER, to, payload: buildMessage({ to, index: first + index, size, tag }) };
  };
}

export interface LatencyResult {
  /** 250 to DATA → WebSocket frame, ms, one per message. */
  deliveryMs: number[];
  /** MAIL FROM sent → 250 to DATA, ms. */
  transactionMs: number[];
}

/**
 * Sends `count` messages one at a time on one connection and waits for each one's WebSocket frame
 * before sending the next. The first `warmup` messages are sent the same way but not counted.
 */
export async function deliveryLatency(options: {
  target: Target;
  push: PushListener;
  to: string;
  size: number;
  count: number;
  warmup: number;
  sequence: Sequence;
  tag: string;
}): Promise<LatencyResult> {
  const { target, push, to, size, count, warmup, sequence, tag } = options;
  const connection = await SmtpConnection.open(target.host, target.port);
  const result: LatencyResult = { deliveryMs: [], transactionMs: [] };
  try {
    const first = sequence.take(warmup + count);
    for (let i = 0; i < warmup + count; i++) {
      const index = first + i;
      const payload = buildMessage({ to, index, size, tag });
      const arrival = push.waitFor(codeFor(index), 10000);
      arrival.catch(() => {}); // awaited below; this only keeps a failed send from orphaning it
      const start = performance.now();
      const reply = await connection.send(SENDER, to, payload);
      const frame = await arrival;
      if (i >= warmup) {
        result.deliveryMs.push(frame.at - reply.at);
        result.transactionMs.push(reply.at - start);
      }
    }
  } finally {
    await connection.quit();
  }
  return result;
}

export interface CpuUse {
  /** The server's CPU time per message delivered, in ms (connection handling included), if known. */
  perMessageMs: number | null;
  /** The same for the load client (the bench's main thread). */
  clientPerMessageMs: number;
  /** Busy time of all cores over the timed windows (2.0 = two cores flat out). */
  machine: number;
}

export interface ShapeResult {
  /** Median messages/s over the measured rounds, per target name. */
  perSecond: Map<string, number>;
  /** Every measured round, per target name. */
  rounds: Map<string, LoadResult[]>;
  /** CPU use over all measured rounds, per target name. */
  cpu: Map<string, CpuUse>;
}

export type Shape = (target: Target, source: MessageSource, onClockStart: () => void) => Promise<LoadResult>;

export function reusedShape(connections: number, perConnection: number): { total: number; run: Shape } {
  const total = connections * perConnection;
  return {
    total,
    run: (target, source, onClockStart) => reusedConnections(target, { connections, total, source, onClockStart }),
  };
}

export function oneShotShape(connections: number): { total: number; run: Shape } {
  return {
    total: connections,
    run: (target, source, onClockStart) => oneShotConnections(target, { connections, source, onClockStart }),
  };
}

export interface LoadTarget {
  name: string;
  target: Target;
  recipients: readonly string[];
  /** Unmeasured rounds before the measured ones (default 1). */
  warmup?: number;
  /** CPU seconds used so far by the server, when they can be read. */
  cpuSeconds?: () => number | Promise<number>;
}

/**
 * Each target's warm-up rounds, then `rounds` measured rounds alternating between targets so that
 * both see the same machine conditions. Any failed message aborts the benchmark.
 */
export async function throughput(options: {
  targets: LoadTarget[];
  shape: { total: number; run: Shape };
  rounds: number;
  size: number;
  sequence: Sequence;
  tag: string;
}): Promise<ShapeResult> {
  const { targets, shape, rounds, size, sequence, tag } = options;
  const once = async ({ name, target, recipients }: LoadTarget, onClockStart = (): void => {}): Promise<LoadResult> => {
    const result = await shape.run(target, messages(sequence, recipients, size, tag, shape.total), onClockStart);
    if (result.errors.length > 0) {
      throw new Error(`${name}: ${result.errors.length} of ${shape.total} messages failed; first: ${result.errors[0]}`);
    }
    return result;
  };
  for (const target of targets) {
    for (let round = 0; round < (target.warmup ?? 1); round++) await once(target);
  }
  const all = new Map<string, LoadResult[]>();
  const used = new Map<string, { server: number; client: number; delivered: number; machine: number; wall: number }>();
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      const server = (await target.cpuSeconds?.()) ?? 0;
      const client = threadCpuSeconds();
      let machine = 0;
      const result = await once(target, () => {
        machine = machineBusySeconds();
      });
      const sum = used.get(target.name) ?? { server: 0, client: 0, delivered: 0, machine: 0, wall: 0 };
      sum.machine += machineBusySeconds() - machine;
      sum.client += threadCpuSeconds() - client;
      sum.server += ((await target.cpuSeconds?.()) ?? 0) - server;
      sum.delivered += result.delivered;
      sum.wall += result.elapsedMs / 1000;
      used.set(target.name, sum);
      all.set(target.name, [...(all.get(target.name) ?? []), result]);
    }
  }
  const perSecond = new Map<string, number>();
  for (const [name, results] of all) perSecond.set(name, median(results.map((r) => r.perSecond)));
  const cpu = new Map<string, CpuUse>();
  for (const target of targets) {
    const sum = used.get(target.name);
    if (!sum) continue;
    cpu.set(target.name, {
      perMessageMs: target.cpuSeconds ? (1000 * sum.server) / sum.delivered : null,
      clientPerMessageMs: (1000 * sum.client) / sum.delivered,
      machine: sum.machine / sum.wall,
    });
  }
  return { perSecond, rounds: all, cpu };
}

export interface FillResult {
  delivered: number;
  elapsedMs: number;
}

/** Stores `count` more messages as fast as `connections` reused connections can deliver them. */
export async function fill(options: {
  target: Target;
  recipients: readonly string[];
  connections: number;
  count: number;
  size: number;
  sequence: Sequence;
  tag: string;
  onProgress?: (delivered: number) => void;
}): Promise<FillResult> {
  const { target, recipients, connections, count, size, sequence, tag, onProgress } = options;
  if (count <= 0) return { delivered: 0, elapsedMs: 0 };
  const source = messages(sequence, recipients, size, tag, count);
  const result = await reusedConnections(target, { connections, total: count, source, onProgress });
  if (result.errors.length > 0) {
    throw new Error(`fill: ${result.errors.length} connections failed; first: ${result.errors[0]}`);
  }
  return { delivered: result.delivered, elapsedMs: result.elapsedMs };
}

export interface ListingResult {
  firstPageMs: number;
  deepPageMs: number;
  aliasPageMs: number;
  /** How many messages lie before the deep page. */
  depth: number;
  /** The page size the cursor walk used. */
  walkLimit: number;
}

/** Follows `next` cursors from the top until at least `depth` messages lie behind. */
async function cursorAt(api: Api, depth: number): Promise<{ cursor: string; depth: number; limit: number }> {
  let limit = 0;
  let page = null;
  for (const candidate of [1000, 200, 100, 50]) {
    try {
      page = await api.listMessages({ limit: candidate });
      limit = candidate;
      break;
    } catch {
      // the relay may cap the page size; try a smaller one
    }
  }
  if (!page) throw new Error('GET /api/messages failed for every page size tried');
  let seen = page.messages.length;
  let cursor = page.next;
  while (cursor !== null && seen < depth) {
    page = await api.listMessages({ limit, cursor });
    seen += page.messages.length;
    if (page.messages.length === 0) break;
    cursor = page.next;
  }
  if (cursor === null) throw new Error(`the cursor walk ended after ${seen} messages, before depth ${depth}`);
  return { cursor, depth: seen, limit };
}

/** Median time of a listing over `repeats` requests, after one unmeasured request. */
async function timeIt(repeats: number, once: () => Promise<number>): Promise<number> {
  await once();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) times.push(await once());
  return median(times);
}

export async function listing(api: Api, options: { stored: number; alias: string; repeats: number }): Promise<ListingResult> {
  const { stored, alias, repeats } = options;
  const firstPageMs = await timeIt(repeats, () => api.timeListing({ limit: 50 }));
  const aliasPageMs = await timeIt(repeats, () => api.timeListing({ limit: 50, alias }));
  const deep = await cursorAt(api, Math.floor(stored / 2));
  const deepPageMs = await timeIt(repeats, () => api.timeListing({ limit: 50, cursor: deep.cursor }));
  return { firstPageMs, deepPageMs, aliasPageMs, depth: deep.depth, walkLimit: deep.limit };
}
