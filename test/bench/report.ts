// Turns a run's results into the tables printed on stdout, ending with a markdown summary that
// the README can quote as it is.

import os from 'node:os';
import type { ShapeResult } from './measure.ts';
import { CEILING, RELAY } from './phases.ts';
import type { PhaseOne, PhaseTwo } from './phases.ts';
import { KB, TARGETS } from './plan.ts';
import type { Plan } from './plan.ts';
import { count, markdownTable, mib, ms, passFail, rate, ratio, textTable } from './stats.ts';

export interface RunInfo {
  plan: Plan;
  /** Label of the store backend, never the URL (it may hold a password). */
  backend: string;
  /** CPU seconds the machine was busy in the second before the run. */
  backgroundBusy: number;
  durationMs: number;
}

interface SummaryRow {
  measure: string;
  result: string;
  target: string;
  verdict: string;
}

/** Cores of CPU used by neither the bench nor the relay above which the figures are suspect. */
const OTHER_WORK_WARNING = 0.15;

const percent = (v: number | null | undefined): string =>
  v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : `${Math.round(v * 100)}%`;

const perMessage = (value: number | null | undefined): string =>
  value === null || value === undefined || !Number.isFinite(value) ? 'n/a' : ms(value);

function machine(info: RunInfo, one: PhaseOne, two: PhaseTwo | null): string[][] {
  const cpus = os.cpus();
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  const skewed = info.backgroundBusy > OTHER_WORK_WARNING ? '  ⚠ other work skews these results' : '';
  return [
    ['cores', `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown'}`],
    ['memory', `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ['os', `${os.type()} ${os.release()}`],
    ['node', process.version],
    ['other work', `${percent(info.backgroundBusy)} CPU busy in the second before the run; load average ${load}${skewed}`],
    [
      '',
      `during the run: ${percent(one.otherWork)} of a core in (a)+(b)${two ? `, ${percent(two.otherWork)} in (c)+(d)` : ''}` +
        (Math.max(one.otherWork, two?.otherWork ?? 0) > OTHER_WORK_WARNING ? '  ⚠ other work skews these results' : ''),
    ],
    ['store', info.backend],
    ['mode', info.plan.quick ? 'quick (smaller counts; figures are indicative only)' : 'full'],
  ];
}

function latencySection(one: PhaseOne, lines: string[], summary: SummaryRow[], plan: Plan): void {
  const l = one.latency;
  if (!l) return;
  const ok = l.p99 < TARGETS.latencyP99Ms;
  const target = `p99 < ${TARGETS.latencyP99Ms} ms`;
  lines.push(
    `### (a) Delivery latency: 250 reply to DATA → WebSocket frame (${count(l.n)} × ${plan.loadSize / KB} KB, one at a time, one connection)`,
    textTable(
      ['', 'p50', 'p99', 'max', 'mean', 'target', ''],
      [
        ['250 → WS frame', ms(l.p50), ms(l.p99), ms(l.max), ms(l.mean), target, passFail(ok)],
        ['MAIL → 250 (whole SMTP transaction)', ms(l.txP50), ms(l.txP99), '', '', '', ''],
      ],
    ),
    '  Each message waits for its frame (matched by its code) before the next is sent.',
    '  A negative figure would mean the frame arrived before the 250 reply.',
    '',
  );
  summary.push({
    measure: `Delivery latency, 250 to DATA → WebSocket frame (${count(l.n)} × ${plan.loadSize / KB} KB)`,
    result: `p50 ${ms(l.p50)}, p99 ${ms(l.p99)}`,
    target,
    verdict: passFail(ok),
  });
}

function spread(result: ShapeResult, name: string): string {
  const all = (result.rounds.get(name) ?? []).map((r) => r.perSecond);
  return all.length > 1 ? ` [${Math.round(Math.min(...all))}–${Math.round(Math.max(...all))}]` : '';
}

function ingestSection(one: PhaseOne, lines: string[], summary: SummaryRow[], plan: Plan): void {
  const target = `≥ ${TARGETS.ingestRatio}×`;
  const rows: string[][] = [];
  const cpuRows: string[][] = [];
  for (const { label, rounds, result } of one.shapes) {
    const c = result.perSecond.get(CEILING) ?? Number.NaN;
    const r = result.perSecond.get(RELAY);
    const ceilingCpu = result.cpu.get(CEILING);
    const relayCpu = result.cpu.get(RELAY);
    const name = `${label}, ${rounds} round${rounds === 1 ? '' : 's'}`;
    cpuRows.push([
      name,
      perMessage(ceilingCpu?.perMessageMs),
      perMessage(ceilingCpu?.clientPerMessageMs),
      percent(ceilingCpu?.machine),
      perMessage(relayCpu?.perMessageMs),
      perMessage(relayCpu?.clientPerMessageMs),
      percent(relayCpu?.machine),
    ]);
    if (r === undefined) {
      rows.push([name, `${rate(c)}${spread(result, CEILING)}`, 'n/a', 'n/a', '', '']);
      continue;
    }
    const x = r / c;
    const verdict = passFail(x >= TARGETS.ingestRatio);
    rows.push([name, `${rate(c)}${spread(result, CEILING)}`, `${rate(r)}${spread(result, RELAY)}`, ratio(x), target, verdict]);
    summary.push({
      measure: `Ingest, ${label.replace(/^\(\w+\) /, '')}, ${plan.loadSize / KB} KB`,
      result: `${rate(r)} vs ceiling ${rate(c)} = ${ratio(x)}`,
      target: `${target} ceiling`,
      verdict,
    });
  }
  lines.push(
    `### (b) Ingest throughput, ${plan.loadSize / KB} KB messages (median of the measured rounds, [slowest–fastest])`,
    textTable(['load', 'ceiling', 'relay', 'relay / ceiling', 'target', ''], rows),
    '  ceiling: a bare smtp-server configured like the relay (disableReverseLookup, no AUTH, STARTTLS offered',
    '  but not required) that discards every message, on a worker thread of the bench process. The relay',
    '  runs as a child process. Both are warmed up first, then measured in alternating rounds.',
    '  Note: smtp-server holds every new connection ~100 ms before its 220 greeting (its early-talker check),',
    '  in the relay and the ceiling alike: (ii) includes that delay, (i) connects before its clock starts.',
    '  client: raw TCP sockets, one command at a time (no PIPELINING), no TLS.',
    '',
    'Where the CPU went, per message (ceiling | relay):',
    textTable(['load', 'server', 'client', 'machine busy', '| server', 'client', 'machine busy'], cpuRows.map((r) => r.map((c, i) => (i === 4 ? `| ${c}` : c)))),
    "  server: the ceiling's thread; all of the relay's threads. client: the bench's main thread (the load client).",
    `  machine busy: all cores' busy time while loaded (${os.cpus().length * 100}% = all busy), kernel and any other work included.`,
    '  Near the maximum, the machine and not the server sets the pace.',
    '',
  );
}

function storeSections(two: PhaseTwo | null, lines: string[], summary: SummaryRow[], plan: Plan): void {
  const [n, n4] = two?.levels ?? [];
  if (!two || !n || !n4) return;
  const fillKb = `${plan.fillSize / KB} KB`;
  const peak = Math.max(...two.levels.map((l) => l.memory.hwmKib));
  lines.push(
    `### (c) Relay memory (store filled by SMTP with ${fillKb} messages over ${plan.fillConnections} reused connections, at full speed)`,
    textTable(
      ['stored', 'VmHWM (peak so far)', 'VmRSS (now)'],
      [
        ['0 (after start)', mib(two.idle.hwmKib), mib(two.idle.rssKib)],
        ...two.levels.map((l) => [count(l.stored), mib(l.memory.hwmKib), mib(l.memory.rssKib)]),
      ],
    ),
    `  Read from /proc/PID/status${n4.memory.processes > 1 ? `, summed over the relay's ${n4.memory.processes} processes` : ''}.`,
    `  Messages the API reports stored at the end: ${count(two.storedByApi)} (the fill plus the (d) ingest samples).`,
    '',
  );
  summary.push({
    measure: `Relay peak RSS with ${count(n4.stored)} messages stored (${fillKb} each)`,
    result: `VmHWM ${mib(peak)} (VmRSS ${mib(n4.memory.rssKib)})`,
    target: '–',
    verdict: '',
  });

  // Fill time to 4N: the second segment stored 3N minus the (d) sample, so scale it to 3N.
  const fill4N = n.fillMs + (n4.fillMs * (n4.stored - n.stored)) / n4.filled;
  const seconds = (v: number): string => `${(v / 1000).toFixed(1)} s`;
  const growth = [
    {
      name: `fill 0 → N vs 0 → 4N (${fillKb})`,
      summary: `Time to fill the store (${fillKb} messages)`,
      a: n.fillMs,
      b: fill4N,
      unit: seconds,
      note: `${rate((1000 * n.stored) / n.fillMs)} → ${rate((1000 * n4.stored) / fill4N)} on average`,
    },
    {
      name: `ingest, time per message (${plan.reuseConnections}×${plan.reusePer}, ${plan.loadSize / KB} KB)`,
      summary: `Ingest time per ${plan.loadSize / KB} KB message (${plan.reuseConnections} reused connections)`,
      a: 1000 / n.ingestPerSecond,
      b: 1000 / n4.ingestPerSecond,
      unit: ms,
      note: `${rate(n.ingestPerSecond)} → ${rate(n4.ingestPerSecond)}`,
    },
    {
      name: 'GET /api/messages?limit=50',
      summary: 'List the first page (limit 50)',
      a: n.list.firstPageMs,
      b: n4.list.firstPageMs,
      unit: ms,
      note: 'first page',
    },
    {
      name: 'GET /api/messages?limit=50&cursor=…',
      summary: 'List a page halfway down (cursor, limit 50)',
      a: n.list.deepPageMs,
      b: n4.list.deepPageMs,
      unit: ms,
      note: `after ${count(n.list.depth)} / ${count(n4.list.depth)} messages (walked in pages of ${n.list.walkLimit})`,
    },
    {
      name: 'GET /api/messages?limit=50&alias=…',
      summary: "List one alias's first page (limit 50)",
      a: n.list.aliasPageMs,
      b: n4.list.aliasPageMs,
      unit: ms,
      note: `one of ${plan.fillConnections} aliases`,
    },
  ];
  const limit = `< ${TARGETS.growthLimit}×`;
  const rows = growth.map((g) => {
    const x = g.b / g.a;
    const verdict = passFail(x < TARGETS.growthLimit);
    summary.push({ measure: `${g.summary}: ${count(n4.stored)} vs ${count(n.stored)} stored`, result: `${g.unit(g.a)} → ${g.unit(g.b)} (${ratio(x)})`, target: limit, verdict });
    return [g.name, g.unit(g.a), g.unit(g.b), ratio(x), limit, verdict, g.note];
  });
  lines.push(
    `### (d) Growth: N = ${count(n.stored)} vs 4N = ${count(n4.stored)} stored (listings: median of ${plan.listRepeats} requests)`,
    textTable(['operation', 'at N', 'at 4N', '4N / N', 'target', '', ''], rows),
    '  fill: time to store all 4N messages against all N (linear ≈ 4×, quadratic ≈ 16×).',
    '  other rows: time of one operation with 4× the data stored (≈ 1× when indexed).',
    '',
  );
}

export function report(info: RunInfo, one: PhaseOne, two: PhaseTwo | null): string {
  const { plan } = info;
  const lines: string[] = ['## Wisp relay benchmark', '', textTable(['machine', ''], machine(info, one, two)), ''];
  const summary: SummaryRow[] = [];
  latencySection(one, lines, summary, plan);
  ingestSection(one, lines, summary, plan);
  storeSections(two, lines, summary, plan);
  lines.push(
    `total duration: ${(info.durationMs / 1000).toFixed(1)} s`,
    '',
    `### Summary (${os.cpus().length} cores, Node ${process.version}, ${info.backend}${plan.quick ? ', quick run' : ''})`,
    '',
    markdownTable(['Measure', 'Result', 'Target', ''], summary.map((r) => [r.measure, r.result, r.target, r.verdict])),
  );
  return lines.join('\n');
}
