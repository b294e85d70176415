// How much the benchmark does, and the targets it holds the relay to.

export const KB = 1024;

export interface Plan {
  quick: boolean;
  /** (a): measured messages, and unmeasured ones sent first. */
  latency: number;
  latencyWarmup: number;
  /** (b)(i): messages per reused connection, measured rounds, warm-up rounds per server. */
  reuseConnections: number;
  reusePer: number;
  reuseRounds: number;
  ceilingWarmup: number;
  relayWarmup: number;
  /** (b)(ii): one-message connections per round, measured rounds. */
  oneShot: number;
  oneShotRounds: number;
  /** Size of the (a) and (b) messages. */
  loadSize: number;
  /** (c)/(d): N (then 4N) stored messages of fillSize, over fillConnections connections. */
  n: number;
  fillSize: number;
  fillConnections: number;
  /** (d): measured rounds of the (b)(i) load at N and 4N; requests per listing figure. */
  sampleRounds: number;
  listRepeats: number;
}

export function planFor(quick: boolean): Plan {
  const common = { reuseConnections: 20, loadSize: 10 * KB, fillSize: 1 * KB, fillConnections: 20 };
  return quick
    ? {
        ...common,
        quick,
        latency: 100,
        latencyWarmup: 10,
        reusePer: 10,
        reuseRounds: 1,
        ceilingWarmup: 1,
        relayWarmup: 1,
        oneShot: 50,
        oneShotRounds: 1,
        n: 1000,
        sampleRounds: 1,
        listRepeats: 5,
      }
    : {
        ...common,
        quick,
        latency: 1000,
        latencyWarmup: 50,
        reusePer: 50,
        reuseRounds: 5,
        // Both speed up over the first several thousand messages (V8 optimising smtp-server,
        // mailparser and the store's statements), so warm them up well before measuring.
        ceilingWarmup: 8,
        relayWarmup: 5,
        oneShot: 200,
        oneShotRounds: 5,
        n: 25000,
        sampleRounds: 2,
        listRepeats: 30,
      };
}

export const TARGETS = {
  /** (a) p99 of 250 → WebSocket frame, ms. */
  latencyP99Ms: 20,
  /** (b) relay throughput / ceiling throughput. */
  ingestRatio: 0.5,
  /** (d) time with 4× the data / time with 1×. */
  growthLimit: 8,
};
