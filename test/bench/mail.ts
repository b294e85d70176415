// The mail-client half of `npm run bench`: POP3 download (beside Dovecot when installed) and
// submission throughput. Returns the text printed after the delivery figures.

import { pop3Bench } from './pop3.ts';
import type { Pop3Figures } from './pop3.ts';
import { submissionBench } from './submission.ts';
import { count, markdownTable, rate, textTable } from './stats.ts';

const mbps = (bytes: number, seconds: number) => `${(bytes / 2 ** 20 / seconds).toFixed(1)} MiB/s`;

export async function mailBenches(options: { quick: boolean; tag: string; progress: (line: string) => void }): Promise<string> {
  const n = options.quick ? 1000 : 10_000;
  const size = 4 * 1024;
  const pop3 = await pop3Bench({ n, size, tag: options.tag, progress: options.progress });
  const submission = await submissionBench({ n: options.quick ? 300 : 2000, size: 2 * 1024, connections: 8, progress: options.progress });

  const row = (f: Pop3Figures) => [f.server, count(f.messages), `${(f.seconds * 1000).toFixed(0)} ms`, rate(f.messages / f.seconds), mbps(f.bytes, f.seconds)];
  const pop3Rows = [row(pop3.relay), 'skipped' in pop3.dovecot ? ['dovecot', pop3.dovecot.skipped, '', '', ''] : row(pop3.dovecot)];
  const header = ['server', 'messages', 'time', 'rate', 'throughput'];
  const ratio = 'skipped' in pop3.dovecot ? null : pop3.relay.messages / pop3.relay.seconds / (pop3.dovecot.messages / pop3.dovecot.seconds);
  const subRows = [
    ['accepted (250 after the durable queue insert)', rate(submission.messages / submission.acceptSeconds)],
    ['drained through a discarding smarthost', rate(submission.messages / submission.drainSeconds)],
  ];
  return [
    '',
    `(e) POP3 download: ${count(n)} messages of ${size / 1024} KiB, one client, pipelined RETR (64 in flight), second of two passes`,
    textTable(header, pop3Rows),
    ratio === null ? '' : `wisp / dovecot: ${ratio.toFixed(2)}×`,
    '',
    `(f) submission: ${count(submission.messages)} messages of ${submission.size / 1024} KiB over ${submission.connections} STARTTLS+AUTH connections (From check, DKIM signature, queue commit)`,
    textTable(['measure', 'rate'], subRows),
    '',
    markdownTable(['measure', 'result'], [
      [`POP3 download, ${count(n)} × ${size / 1024} KiB (wisp)`, `${rate(pop3.relay.messages / pop3.relay.seconds)}, ${mbps(pop3.relay.bytes, pop3.relay.seconds)}`],
      [`POP3 download (dovecot ${'skipped' in pop3.dovecot ? 'skipped' : ''})`.replace(' )', ')').replace('( ', '('), 'skipped' in pop3.dovecot ? 'skipped' : `${rate(pop3.dovecot.messages / pop3.dovecot.seconds)}, ${mbps(pop3.dovecot.bytes, pop3.dovecot.seconds)}`],
      ['submission accepted', rate(submission.messages / submission.acceptSeconds)],
      ['submission drained via smarthost', rate(submission.messages / submission.drainSeconds)],
    ]),
  ].join('\n');
}
