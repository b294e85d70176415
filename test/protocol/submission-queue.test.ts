// The outbound queue is durable: mail accepted while the next hop is down survives a SIGKILL of
// the relay and goes out after the restart, through a smarthost that asks for AUTH.
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, it } from 'vitest';
import { createAlias, eventually, parseJsonLine, startRelay, uniq } from '../support/relay.ts';
import type { Relay } from '../support/relay.ts';
import { freePort, startSink } from '../support/sink.ts';
import type { Sink } from '../support/sink.ts';

let relay: Relay | undefined;
let sink: Sink | undefined;

afterAll(async () => {
  await relay?.stop();
  await sink?.close();
});

describe('outbound queue across a crash', () => {
  it('delivers through the smarthost, after a SIGKILL and restart, every message queued while it was down', async () => {
    const port = await freePort();
    relay = await startRelay({
      ports: { submission: '0' },
      args: ['--smarthost', `smtp://relay%40user:s3cret%3A@127.0.0.1:${port}`],
      env: { WISP_OUTBOUND_RETRY_MS: '300', WISP_OUTBOUND_LEASE_MS: '2000' },
    });
    const r = relay;
    const made = r.logs.map(parseJsonLine).find((l) => l?.msg === 'made a DKIM key: publish these DNS TXT records');
    const record = (made?.records as { name: string; value: string }[])[0]!;
    const sender = await createAlias(r, { site: 'queue.example' });
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: r.ports.submission!,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: r.user, pass: r.token },
    });
    const subjects = Array.from({ length: 5 }, (_, i) => `queued ${i} ${uniq()}`);
    try {
      for (const [i, subject] of subjects.entries()) {
        await transport.sendMail({ from: sender.address, to: [`to${i}@far.example`, `cc${i}@other.example`], subject, text: `message ${i}` });
      }
    } finally {
      transport.close();
    }
    // Every message has been tried and put back: the smarthost is not there.
    await eventually(
      async () => {
        const deferred = new Set(r.logs.map(parseJsonLine).filter((l) => l?.msg === 'deferred').map((l) => l!.job));
        return deferred.size >= subjects.length;
      },
      15_000,
      'every message to be deferred',
    );
    expect((await r.kill('SIGKILL')).signal).toBe('SIGKILL');

    sink = await startSink({ port, auth: { user: 'relay@user', pass: 's3cret:' } });
    await r.restart();
    const got = await sink.waitFor(subjects.length, 20_000);
    const bySubject = new Map(got.map((m) => [/\r\nSubject: (.*)\r\n/.exec(m.raw.toString('latin1'))?.[1], m]));
    for (const [i, subject] of subjects.entries()) {
      const m = bySubject.get(subject);
      expect(m, subject).toBeDefined();
      // One transaction per message through a smarthost: every domain at once.
      expect(m!.to.sort()).toEqual([`cc${i}@other.example`, `to${i}@far.example`]);
      expect(m!.from).toBe(sender.address);
      expect(m!.user).toBe('relay@user');
      const resolver = async (name: string, type: string) => {
        if (type === 'TXT' && name === record.name) return [[record.value]];
        throw Object.assign(new Error('none'), { code: 'ENOTFOUND' });
      };
      expect((await dkimVerify(m!.raw, { resolver })).results[0]?.status.result).toBe('pass');
    }
    expect(got).toHaveLength(subjects.length);
    const sent = r.logs.map(parseJsonLine).filter((l) => l?.msg === 'sent');
    expect(sent.length).toBe(subjects.length);
  });
});
