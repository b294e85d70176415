// "The reply to DATA is 250 only once the message is durably stored" (INTERFACE.md §4):
// kill -9 the relay while several clients are sending, restart it on the same data, and find
// every acknowledged message. Unacknowledged ones may or may not be there, but never twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alias, Summary } from '../../shared/api.ts';
import { allMessages, api, createAlias, sendMail, startRelay, uniq, waitForSubject } from '../support/relay.ts';
import type { Relay } from '../support/relay.ts';
import { SmtpSession, rfc822 } from '../support/smtp.ts';

let relay: Relay;

beforeAll(async () => {
  relay = await startRelay({ args: ['--alias-rate-limit', '100000/1m'] });
});

afterAll(async () => {
  await relay?.stop();
});

function expectAllAcked(listed: Summary[], acked: Set<string>, attempted: Set<string>): void {
  const subjects = listed.map((m) => m.subject);
  const missing = [...acked].filter((s) => !subjects.includes(s));
  expect(missing, `acknowledged with 250 but lost after SIGKILL + restart (${missing.length} of ${acked.size})`).toEqual([]);
  const ours = subjects.filter((s) => attempted.has(s));
  expect(new Set(ours).size, 'a message is stored twice').toBe(ours.length);
  expect(new Set(listed.map((m) => m.id)).size).toBe(listed.length);
}

describe('SIGKILL while mail is flowing', () => {
  it('every message that got a 250 is listed after a restart on the same data dir', async () => {
    const aliases: Alias[] = [];
    for (let i = 0; i < 6; i++) aliases.push(await createAlias(relay, { site: `durable${i}.test`, ttl: null }));
    const acked = new Set<string>();
    const attempted = new Set<string>();
    let killing = false;
    let reachedTarget!: () => void;
    const target = new Promise<void>((r) => (reachedTarget = r));
    const TARGET = 60;
    const ack = (subject: string) => {
      acked.add(subject);
      if (acked.size >= TARGET) reachedTarget();
    };
    const padding = 'durable payload line\r\n'.repeat(600); // ~13 KB, so a kill often lands mid-DATA

    // three clients that keep one session and send transaction after transaction
    const sessionClients = aliases.slice(0, 3).map(async (a, ci) => {
      let s: SmtpSession | null = null;
      try {
        s = await SmtpSession.connect(relay.smtpPort);
        await s.command('EHLO client.test');
        for (let n = 0; !killing && n < 1000; n++) {
          const subject = `dur s${ci} ${n} ${uniq()}`;
          attempted.add(subject);
          const r = await s.deliver('sender@example.com', [a.address], rfc822({ to: a.address, subject, body: padding }));
          if (r.final?.code === 250) ack(subject);
          else throw new Error(`refused: ${JSON.stringify(r).slice(0, 300)}`);
        }
      } catch {
        /* the relay died under us: expected */
      } finally {
        s?.destroy();
      }
    });
    // three clients that open a new connection per message (nodemailer)
    const mailerClients = aliases.slice(3).map(async (a, ci) => {
      try {
        for (let n = 0; !killing && n < 1000; n++) {
          const subject = `dur m${ci} ${n} ${uniq()}`;
          attempted.add(subject);
          await sendMail(relay, { to: a.address, subject, text: padding }, { timeoutMs: 5000 });
          ack(subject);
        }
      } catch {
        /* the relay died under us: expected */
      }
    });

    await Promise.race([target, new Promise((r) => setTimeout(r, 20_000))]);
    expect(acked.size, 'the clients got too few messages through before the kill').toBeGreaterThanOrEqual(TARGET);
    killing = true;
    const exit = await relay.kill('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    await Promise.all([...sessionClients, ...mailerClients]);
    expect(attempted.size).toBeGreaterThan(acked.size - 1);

    await relay.restart();
    expect(relay.printedFirstUser).toBe(false);
    const listed = await allMessages(relay);
    expectAllAcked(listed, acked, attempted);

    // and it carries on as before
    const subject = `after restart ${uniq()}`;
    await sendMail(relay, { to: aliases[0]!.address, subject, text: 'alive' });
    await waitForSubject(relay, subject);
  }, 60_000);

  it('a message is listed even when the relay is killed the instant its 250 arrives', async () => {
    const a = await createAlias(relay, { site: 'instant.test', ttl: null });
    const acked = new Set<string>();
    const attempted = new Set<string>();
    for (let round = 0; round < 3; round++) {
      const s = await SmtpSession.connect(relay.smtpPort);
      await s.command('EHLO client.test');
      const subject = `instant ${round} ${uniq()}`;
      attempted.add(subject);
      const r = await s.deliver('sender@example.com', [a.address], rfc822({ to: a.address, subject, body: 'x'.repeat(2000) }));
      expect(r.final?.code).toBe(250);
      // no QUIT, no waiting: the process dies now
      await relay.kill('SIGKILL');
      acked.add(subject);
      s.destroy();
      await relay.restart();
      expectAllAcked(await allMessages(relay, { alias: a.address }), acked, attempted);
    }
    expect((await api(relay, 'GET', '/healthz')).status).toBe(200);
  }, 60_000);
});
