// `npm run bench`: how fast the relay delivers, how much it ingests against a bare smtp-server,
// how much memory it holds with a full store, and whether cost grows faster than the data.
//
//   npm run bench [-- --quick] [-- --db URL] [-- --ceiling-only] [-- --profile DIR]
//
//   --quick         smaller counts, for a smoke run (figures are indicative only)
//   --db URL        passed to the relay as its --db (default: SQLite in a temporary data directory);
//                   with postgres://… the run gets a schema of its own there, and adds (h): two nodes
//   --ceiling-only  measure the bare smtp-server alone, without starting the relay
//   --profile DIR   write a V8 CPU profile of each relay process into DIR (open it in DevTools)
//   --mail-only     only the POP3 download and submission figures (mail.ts)
//   --imap-only     only the IMAP header scan and download figures, beside Dovecot (imap.ts)
//
// Progress goes to stderr, results to stdout. Needs Linux (/proc) and, to mean much, an idle machine.

import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { machineBusySeconds } from './cpu.ts';
import { startDiscardServer } from './discard-server.ts';
import { phaseOne, phaseTwo } from './phases.ts';
import type { PhaseOne, RunOptions } from './phases.ts';
import { planFor } from './plan.ts';
import { report } from './report.ts';
import { mailBenches } from './mail.ts';
import { benchDatabase, isPostgres, twoNodeReport, twoNodes } from './multinode.ts';
import { imapBenches } from './imap.ts';
import { extensionBenches } from './extension.ts';

const started = performance.now();
const { values: cli } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    db: { type: 'string' },
    'ceiling-only': { type: 'boolean', default: false },
    profile: { type: 'string' },
    'mail-only': { type: 'boolean', default: false },
    'imap-only': { type: 'boolean', default: false },
  },
  strict: true,
});

/** CPU seconds the machine spends busy in one second before we start anything. */
async function backgroundBusy(): Promise<number> {
  const before = machineBusySeconds();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return machineBusySeconds() - before;
}

async function main(): Promise<void> {
  const tag = `b${Date.now().toString(36)}`;
  const database = benchDatabase(cli.db, tag);
  // The mail benches start their relays without --db: the variable takes them to the same store.
  if (database.url) process.env.WISP_DB = database.url;
  try {
    await benches(database.url, tag);
  } finally {
    await database.drop();
  }
}

async function benches(db: string | undefined, tag: string): Promise<void> {
  const run: RunOptions = {
    plan: planFor(cli.quick),
    db,
    profile: cli.profile,
    tag,
    progress: (line) => void process.stderr.write(`  … ${line}\n`),
  };
  const mail = () => mailBenches({ quick: cli.quick, tag: run.tag, progress: run.progress });
  const imap = () => imapBenches({ quick: cli.quick, tag: run.tag, progress: run.progress });
  if (cli['imap-only']) {
    process.stdout.write(`${await imap()}\n`);
    return;
  }
  if (cli['mail-only']) {
    process.stdout.write(`${await mail()}\n`);
    return;
  }
  const busy = await backgroundBusy();
  const ceiling = await startDiscardServer();
  let one: PhaseOne;
  try {
    one = await phaseOne(run, ceiling, cli['ceiling-only']);
  } finally {
    await ceiling.close();
  }
  const two = cli['ceiling-only'] ? null : await phaseTwo(run);
  const backend = cli.db ? `${cli.db.split(':')[0] ?? 'custom'} (--db)` : 'sqlite (default)';
  const text = report({ plan: run.plan, backend, backgroundBusy: busy, durationMs: performance.now() - started }, one, two);
  process.stdout.write(`${text}\n`);
  if (!cli['ceiling-only']) process.stdout.write(`${await mail()}\n`);
  if (!cli['ceiling-only']) process.stdout.write(`${await imap()}\n`);
  if (!cli['ceiling-only']) process.stdout.write(`${await extensionBenches({ quick: cli.quick, progress: run.progress })}\n`);
  if (!cli['ceiling-only'] && isPostgres(db)) process.stdout.write(`${twoNodeReport(await twoNodes(run), run.plan.loadSize)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
  // a socket left open by the failure must not keep the bench hanging
  setTimeout(() => process.exit(1), 2000).unref();
});
