// The POP3 commands (RFC 1939, CAPA and response codes from RFC 2449, AUTH PLAIN from RFC 5034,
// STLS from RFC 2595) as a table: each declares the states it is valid in and how many arguments
// it takes, and the dispatcher checks both once for all of them.
import type { Command } from './parser.ts';
import { parseCommand } from './parser.ts';
import { stuff, topOf } from './format.ts';
import type { Reply, Session, State } from './session.ts';
import { err, ok } from './session.ts';

export interface CommandSpec {
  states: readonly State[];
  /** Fewest and most arguments. */
  args: [number, number];
  handle(s: Session, c: Command): Promise<Reply> | Reply;
}

const AUTHORIZATION: readonly State[] = ['authorization'];
const TRANSACTION: readonly State[] = ['transaction'];
const ANY: readonly State[] = ['authorization', 'transaction'];

/** A message number that names a message not marked deleted, or the -ERR to send. */
function message(s: Session, arg: string): { n: number; id: number; size: number } | Reply {
  const drop = s.maildrop!;
  if (!/^\d{1,10}$/.test(arg)) return err(`"${arg.slice(0, 20)}" is not a message number.`);
  const n = Number(arg);
  const m = drop.messages[n - 1];
  if (n < 1 || !m) return err(`There is no message ${n}.`);
  if (drop.deleted.has(n)) return err(`Message ${n} is deleted.`);
  return { n, id: m.id, size: m.size };
}

const isReply = (x: unknown): x is Reply => typeof x === 'object' && x !== null && 'ok' in x;

async function rawOf(s: Session, id: number): Promise<Buffer | null> {
  return (await s.deps.store.getRaws(s.maildrop!.scope, [id])).get(id) ?? null;
}

const GONE = () => err('The message was deleted by another client.', 'SYS/PERM');

function capabilities(s: Session): string[] {
  const caps = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
  if (s.state === 'authorization') {
    // Credentials in the clear are offered only where they are accepted (RFC 2595 §4).
    if (s.loginAllowed) caps.push('USER', 'SASL PLAIN');
    if (!s.io.secure) caps.push('STLS');
  }
  caps.push('IMPLEMENTATION Wisp');
  return caps;
}

const needsTls = () => err('Log in only over TLS: use STLS first.', 'AUTH');

export const COMMANDS: Record<string, CommandSpec> = {
  CAPA: { states: ANY, args: [0, 0], handle: (s) => ok('Capability list follows', { lines: capabilities(s) }) },

  NOOP: { states: TRANSACTION, args: [0, 0], handle: () => ok('') },

  QUIT: {
    states: ANY,
    args: [0, 0],
    async handle(s) {
      const reply = s.state === 'transaction' ? await s.update() : ok('Bye');
      return { ...reply, after: () => s.io.close() };
    },
  },

  STLS: {
    states: AUTHORIZATION,
    args: [0, 0],
    handle(s) {
      if (s.io.secure) return err('TLS is active already.');
      // RFC 2595 §4: whatever was said before the handshake is forgotten.
      s.pendingUser = null;
      return ok('Begin TLS negotiation', { after: s.io.beginTls() });
    },
  },

  USER: {
    states: AUTHORIZATION,
    args: [1, 1],
    handle(s, c) {
      if (!s.loginAllowed) return needsTls();
      s.pendingUser = c.args[0]!;
      return ok('Now the token, with PASS');
    },
  },

  PASS: {
    states: AUTHORIZATION,
    args: [1, Infinity],
    handle(s, c) {
      if (!s.loginAllowed) return needsTls();
      const user = s.pendingUser;
      s.pendingUser = null;
      if (user === null) return err('Send USER first.');
      // RFC 1939 §7: the one argument may hold spaces.
      return s.logIn(user, c.rest.trim());
    },
  },

  AUTH: {
    states: AUTHORIZATION,
    args: [0, 2],
    async handle(s, c) {
      const [mechanism, initial] = c.args;
      if (mechanism === undefined) return ok('Mechanisms follow', { lines: ['PLAIN'] });
      if (mechanism.toUpperCase() !== 'PLAIN') return err(`The mechanism ${mechanism.slice(0, 20)} is not supported; use PLAIN.`);
      if (!s.loginAllowed) return needsTls();
      let response = initial;
      if (response === undefined) {
        s.io.write(['+ \r\n']);
        await s.io.flush();
        const line = await s.io.readLine();
        if (line === null) return err('The connection ended.');
        if (line === 'too-long') return err('The response is too long.');
        response = line.toString('latin1').trim();
        if (response === '*') return err('Authentication cancelled.');
      }
      // RFC 5034 §4: "=" is an empty initial response.
      if (response === '=') response = '';
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(response) || response.length % 4 !== 0) return err('The response is not base64.');
      const [authz, authc, password, ...extra] = Buffer.from(response, 'base64').toString('utf8').split('\0');
      if (authc === undefined || password === undefined || extra.length > 0) return err('Expected authzid NUL authcid NUL token.', 'AUTH');
      if (authz && authz.toLowerCase() !== authc.toLowerCase()) return err('Acting as another identity is not supported.', 'AUTH');
      return s.logIn(authc, password);
    },
  },

  STAT: {
    states: TRANSACTION,
    args: [0, 0],
    handle(s) {
      const { count, octets } = s.totals();
      return ok(`${count} ${octets}`);
    },
  },

  LIST: {
    states: TRANSACTION,
    args: [0, 1],
    handle(s, c) {
      if (c.args[0] !== undefined) {
        const m = message(s, c.args[0]);
        return isReply(m) ? m : ok(`${m.n} ${m.size}`);
      }
      const { count, octets } = s.totals();
      const lines: string[] = [];
      s.maildrop!.messages.forEach((m, i) => {
        if (!s.maildrop!.deleted.has(i + 1)) lines.push(`${i + 1} ${m.size}`);
      });
      return ok(`${count} messages (${octets} octets)`, { lines });
    },
  },

  UIDL: {
    states: TRANSACTION,
    args: [0, 1],
    handle(s, c) {
      // The message id: never reused, the same in every session and after restarts.
      if (c.args[0] !== undefined) {
        const m = message(s, c.args[0]);
        return isReply(m) ? m : ok(`${m.n} ${m.id}`);
      }
      const lines: string[] = [];
      s.maildrop!.messages.forEach((m, i) => {
        if (!s.maildrop!.deleted.has(i + 1)) lines.push(`${i + 1} ${m.id}`);
      });
      return ok('Unique ids follow', { lines });
    },
  },

  RETR: {
    states: TRANSACTION,
    args: [1, 1],
    async handle(s, c) {
      const m = message(s, c.args[0]!);
      if (isReply(m)) return m;
      const raw = await rawOf(s, m.id);
      if (!raw) return GONE();
      s.maildrop!.retrieved.add(m.n);
      return ok(`${raw.length} octets`, { body: stuff(raw) });
    },
  },

  TOP: {
    states: TRANSACTION,
    args: [2, 2],
    async handle(s, c) {
      const m = message(s, c.args[0]!);
      if (isReply(m)) return m;
      const count = c.args[1]!;
      if (!/^\d{1,10}$/.test(count)) return err(`"${count.slice(0, 20)}" is not a number of lines.`);
      const raw = await rawOf(s, m.id);
      if (!raw) return GONE();
      return ok('Top of message follows', { body: stuff(topOf(raw, Number(count))) });
    },
  },

  DELE: {
    states: TRANSACTION,
    args: [1, 1],
    handle(s, c) {
      const m = message(s, c.args[0]!);
      if (isReply(m)) return m;
      s.maildrop!.deleted.add(m.n);
      return ok(`Message ${m.n} deleted at QUIT`);
    },
  },

  RSET: {
    states: TRANSACTION,
    args: [0, 0],
    handle(s) {
      s.maildrop!.deleted.clear();
      const { count, octets } = s.totals();
      return ok(`${count} messages (${octets} octets)`);
    },
  },
};

/** Wire form of a reply: the status line, then any multi-line body and its terminating dot. */
export function render(reply: Reply): (string | Buffer)[] {
  const code = reply.code ? `[${reply.code}] ` : '';
  const status = `${reply.ok ? '+OK' : '-ERR'}${code || reply.text ? ' ' : ''}${code}${reply.text}\r\n`;
  if (!reply.ok || (reply.lines === undefined && reply.body === undefined)) return [status];
  const parts: (string | Buffer)[] = [status];
  if (reply.lines) for (const line of reply.lines) parts.push(`${line}\r\n`);
  if (reply.body) parts.push(reply.body);
  parts.push('.\r\n');
  return parts;
}

export interface Outcome {
  reply: Reply;
  /** False for an unknown command or one sent in the wrong state: counted against the client. */
  known: boolean;
}

/** Parses one line and runs it against the session. */
export async function dispatch(s: Session, line: Buffer): Promise<Outcome> {
  const parsed = parseCommand(line);
  if (!parsed.ok) return { reply: err(parsed.error), known: false };
  const { command } = parsed;
  const spec = Object.hasOwn(COMMANDS, command.keyword) ? COMMANDS[command.keyword] : undefined;
  if (!spec) return { reply: err(`Unknown command ${command.keyword.slice(0, 20)}.`), known: false };
  if (!spec.states.includes(s.state)) {
    const when = s.state === 'authorization' ? 'before logging in' : 'after logging in';
    return { reply: err(`${command.keyword} is not valid ${when}.`), known: false };
  }
  const [min, max] = spec.args;
  if (command.args.length < min || command.args.length > max) {
    return { reply: err(`Wrong number of arguments for ${command.keyword}.`), known: true };
  }
  return { reply: await spec.handle(s, command), known: true };
}
