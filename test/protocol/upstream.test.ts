// Upstream pull (`--upstream`), end to end: a second relay plays the upstream IMAP server (domain
// up.test, one address acting as the catch-all mailbox), and mail delivered to it by SMTP, but
// addressed in its header to the first relay's addresses, must reach the first relay's API and
// WebSocket, be marked upstream, never be taken twice (restarts, even SIGKILL), arrive within a
// second while the puller IDLEs, and keep coming after the upstream restarts.
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alias } from '../../shared/api.ts';
import {
  allMessages,
  cli,
  createAlias,
  enc,
  eventually,
  isMessageFrame,
  openWs,
  parseJsonLine,
  sendMail,
  startRelay,
  uniq,
  waitForSubject,
} from '../support/relay.ts';
import type { Relay, WsClient } from '../support/relay.ts';
import { freePort } from '../support/sink.ts';

let upstream: Relay;
let relay: Relay;
let catchAll: Alias;
let upstreamImapPort: number;
const sockets: WsClient[] = [];

/** The JSON log lines of `r` with this msg, in order. */
const logLines = (r: Relay, msg: string) => r.logs.map(parseJsonLine).filter((l): l is Record<string, unknown> => l?.msg === msg);

function upstreamUrl(query = '?insecure=1'): string {
  return `imap://${enc(catchAll.address)}:${enc(upstream.token)}@127.0.0.1:${upstreamImapPort}/INBOX${query}`;
}

/** A verification mail for `to` (header), handed to the upstream relay for its catch-all address (envelope). */
async function deliverUpstream(headerTo: string, subject: string, code: string, extraHeaders = ''): Promise<void> {
  const raw = [
    'From: Example Site <no-reply@site.example>',
    `To: <${headerTo}>`,
    `Subject: ${subject}`,
    `Message-ID: <${uniq()}@site.example>`,
    'Date: Thu, 26 Nov 2026 12:00:00 +0000',
    ...(extraHeaders ? [extraHeaders] : []),
    '',
    `Your verification code is ${code}`,
    '',
  ].join('\r\n');
  await sendMail(upstream, { from: 'bounces@site.example', to: catchAll.address, raw });
}

/** The flags the upstream holds for the message with this subject (read as its own client would). */
async function upstreamFlags(subject: string): Promise<string[] | null> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: upstreamImapPort,
    secure: false,
    auth: { user: catchAll.address, pass: upstream.token },
    tls: { rejectUnauthorized: false },
    logger: false,
    disableAutoIdle: true,
  });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.mailboxOpen('INBOX', { readOnly: true });
    for await (const m of client.fetch('1:*', { envelope: true, flags: true })) {
      if (m.envelope?.subject === subject) return [...(m.flags ?? [])].sort();
    }
    return null;
  } finally {
    await client.logout().catch(() => client.close());
  }
}

/** The upstream flags of the message with this subject, once they include `mark`. */
function flagsOnceMarked(subject: string, mark: string): Promise<string[]> {
  return eventually(async () => {
    const flags = await upstreamFlags(subject);
    return flags?.includes(mark) ? flags : null;
  }, 10_000, `${mark} on "${subject}"`);
}

async function ws(r: Relay): Promise<WsClient> {
  const socket = await openWs(r, r.token);
  sockets.push(socket);
  await socket.until((f) => f.type === 'hello');
  return socket;
}

const countSubject = async (r: Relay, subject: string) => (await allMessages(r)).filter((m) => m.subject === subject).length;

/** Waits for the n-th "upstream connected" line of `r`. */
const connected = (r: Relay, n: number) => eventually(async () => logLines(r, 'upstream connected').length >= n, 15_000, `upstream connection #${n}\n${r.output()}`);

beforeAll(async () => {
  // A fixed port, so the upstream comes back where the first relay's --upstream points.
  upstreamImapPort = await freePort();
  upstream = await startRelay({ ports: { imap: String(upstreamImapPort) }, args: ['--domain', 'up.test'] });
  catchAll = await createAlias(upstream, { site: 'catchall.example', ttl: null });
  relay = await startRelay({ args: ['--upstream', upstreamUrl()], env: { WISP_UPSTREAM_RETRY_MS: '200' } });
  await connected(relay, 1);
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await relay?.stop();
  await upstream?.stop();
});

describe('upstream pull', () => {
  it('connects with STARTTLS and logs the mailbox without the password', () => {
    const [line] = logLines(relay, 'upstream connected');
    expect(line).toMatchObject({ upstream: `imap://${enc(catchAll.address)}@127.0.0.1:${upstreamImapPort}/INBOX`, tls: true });
    expect(relay.logs.join('\n')).not.toContain(upstream.token);
  });

  it('ingests mail for its address through the one pipeline (API and WebSocket) and marks it upstream', async () => {
    const alias = await createAlias(relay, { site: 'github.com' });
    const socket = await ws(relay);
    const subject = uniq('pull');
    await deliverUpstream(alias.address, subject, '482913');
    const frame = await socket.until((f) => isMessageFrame(f) && f.message.subject === subject, 10_000);
    expect(isMessageFrame(frame) && frame.message).toMatchObject({ alias: alias.address, site: 'github.com', code: '482913' });
    const listed = await waitForSubject(relay, subject);
    expect(listed.from).toContain('no-reply@site.example');
    expect(await flagsOnceMarked(subject, '$WispPulled')).toEqual(['$WispPulled', '\\Seen']);
  });

  it('reads Delivered-To before To, and leaves mail for unknown addresses upstream, marked', async () => {
    const alias = await createAlias(relay, { site: 'shop.example' });
    const bcc = uniq('delivered-to');
    await deliverUpstream('list@elsewhere.example', bcc, '551177', `Delivered-To: ${alias.address}`);
    expect((await waitForSubject(relay, bcc)).alias).toBe(alias.address);

    const stray = uniq('stray');
    await deliverUpstream('nobody.aaaaaaaaaa@wisp.localhost', stray, '000111');
    expect(await flagsOnceMarked(stray, '$WispSkipped')).toEqual(['$WispSkipped']);
    expect(await countSubject(relay, stray)).toBe(0);
  });

  it('announces new mail within a second while it IDLEs', async () => {
    const alias = await createAlias(relay, { site: 'fast.example' });
    const socket = await ws(relay);
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const subject = uniq('idle');
      // the puller has been idle a while: nothing but IDLE brings this message over
      await new Promise((r) => setTimeout(r, 300));
      const frame = socket.until((f) => isMessageFrame(f) && f.message.subject === subject, 5000);
      await deliverUpstream(alias.address, subject, `7${i}4${i}9${i}`);
      // from the upstream's 250 (the message is stored there) to the frame here
      const stored = Date.now();
      await frame;
      delays.push(Date.now() - stored);
    }
    expect(Math.max(...delays)).toBeLessThan(1000);
  });

  it('takes nothing twice across restarts, a SIGKILL included, even with the upstream marks removed', async () => {
    const alias = await createAlias(relay, { site: 'restart.example' });
    const before = [uniq('before'), uniq('before')];
    for (const s of before) await deliverUpstream(alias.address, s, '123456');
    for (const s of before) await waitForSubject(relay, s);

    await relay.restart();
    await connected(relay, logLines(relay, 'upstream connected').length + 1);
    // clear the marks upstream: only the relay's own record keeps it from taking them again
    const client = new ImapFlow({ host: '127.0.0.1', port: upstreamImapPort, secure: false, auth: { user: catchAll.address, pass: upstream.token }, tls: { rejectUnauthorized: false }, logger: false, disableAutoIdle: true });
    client.on('error', () => {});
    await client.connect();
    await client.mailboxOpen('INBOX');
    await client.messageFlagsRemove('1:*', ['$WispPulled', '\\Seen']);
    await client.logout();

    await relay.kill('SIGKILL');
    await relay.restart();
    const after = uniq('after');
    await deliverUpstream(alias.address, after, '654321');
    await waitForSubject(relay, after);
    for (const s of [...before, after]) expect(await countSubject(relay, s)).toBe(1);
  });

  it('reconnects after the upstream restarts and carries on', async () => {
    const alias = await createAlias(relay, { site: 'again.example' });
    const seen = logLines(relay, 'upstream connected').length;
    const trouble = () => logLines(relay, 'upstream connection lost').length + logLines(relay, 'upstream connection failed').length;
    const troubleBefore = trouble();
    await upstream.restart();
    await eventually(async () => trouble() > troubleBefore, 10_000, 'a lost-connection line');
    await connected(relay, seen + 1);
    const subject = uniq('reconnect');
    await deliverUpstream(alias.address, subject, '909090');
    expect((await waitForSubject(relay, subject)).code).toBe('909090');
    expect(relay.logs.join('\n')).not.toContain(upstream.token);
  });

  it('refuses an unverifiable certificate unless told to accept it', async () => {
    const strict = await startRelay({ args: ['--upstream', upstreamUrl('')], env: { WISP_UPSTREAM_RETRY_MS: '200' } });
    try {
      const [failure] = await eventually(async () => {
        const lines = logLines(strict, 'upstream connection failed');
        return lines.length > 0 && lines;
      }, 15_000, 'a failed upstream connection');
      expect(String(failure!.reason)).toMatch(/certificate|self[- ]signed/i);
      expect(logLines(strict, 'upstream connected')).toEqual([]);
      expect(strict.logs.join('\n')).not.toContain(upstream.token);
    } finally {
      await strict.stop();
    }
  });

  it('exits with a one-line reason, without the password, for an upstream URL it cannot use', async () => {
    const r = await cli(['serve', '--data', relay.dataDir, '--http-port', '0', '--smtp-port', '0', '--upstream', 'imap://someone:s3cret@host.example/INBOX?tls=off']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--upstream/);
    expect(r.stderr).not.toContain('s3cret');
  });
});
