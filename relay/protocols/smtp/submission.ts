// SMTP submission (RFC 6409; INTERFACE.md §4): a user sends mail as one of its own addresses.
// AUTH (PLAIN, LOGIN; the user's name or one of its addresses, and a token) is offered only over
// TLS: after STARTTLS on the submission port, at once on the implicit-TLS port. The envelope sender
// and every From address must be the user's own, active, unexpired addresses (an address login:
// that address alone). DATA is answered 250 only once the message is in the durable queue.
import os from 'node:os';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerAuthentication, SMTPServerSession } from 'smtp-server';
import type { Aliases } from '../../core/aliases.ts';
import type { MailLogin, MailLogins } from '../../core/mail-login.ts';
import type { Store } from '../../core/ports.ts';
import type { Outbound } from '../../core/outbound/outbound.ts';
import { fromAddresses, parseHeader } from '../../core/outbound/headers.ts';
import type { Logger } from '../../log.ts';
import { readMessage, smtpError } from './hooks.ts';
import type { SmtpError } from './hooks.ts';

export interface SubmissionDeps {
  store: Store;
  aliases: Aliases;
  logins: MailLogins;
  outbound: Outbound;
  log: Logger;
}

export interface SubmissionOptions {
  key: Buffer;
  cert: Buffer;
  maxMessageSize: number;
  maxConnections: number;
  domains: string[];
  hostname?: string;
}

export interface SubmissionServers {
  /** Port 587: STARTTLS, then AUTH. */
  plain: SMTPServer;
  /** Port 465: implicit TLS. */
  secure: SMTPServer;
  /** Stops listening; a client still connected a second later is told 421 and dropped. */
  close(): Promise<void>;
}

/** Enough for a reply to a thread; a mass mailing is not what a disposable address is for. */
const MAX_RECIPIENTS = 50;

/** A syntactically plain address: local@domain, no spaces or brackets. */
const ADDRESS = /^[^\s@<>()[\],;:"]+@[a-z0-9.-]+\.?$|^[^\s@<>()[\],;:"]+@\[[0-9a-f:.]+\]$/i;

interface SessionState {
  login: MailLogin;
  local: Map<string, { id: number; userId: number; address: string }>;
  remote: string[];
}

export function createSubmission(deps: SubmissionDeps, options: SubmissionOptions): SubmissionServers {
  const { store, aliases, logins, outbound, log } = deps;
  const host = options.hostname ?? os.hostname();
  const domains = new Set(options.domains);
  const states = new WeakMap<SMTPServerSession, SessionState>();

  /** Whether `address` is one this login may send as; the reply to refuse it otherwise. */
  async function mayUse(login: MailLogin, address: string): Promise<SmtpError | null> {
    const normalized = address.trim().toLowerCase();
    const refuse = () => smtpError(550, `5.7.1 <${address}>: you may send only as one of your own active addresses`);
    if (login.alias) return login.alias.address === normalized && (await usable(normalized, login.user.id)) ? null : refuse();
    return (await usable(normalized, login.user.id)) ? null : refuse();
  }

  async function usable(address: string, userId: number): Promise<boolean> {
    const alias = await store.getAlias(address);
    if (!alias || alias.userId !== userId || !alias.active || alias.expired) return false;
    return !alias.expiresAt || alias.expiresAt.getTime() > Date.now();
  }

  const make = (secure: boolean) =>
    new SMTPServer({
      name: host,
      banner: 'Wisp submission ready',
      key: options.key,
      cert: options.cert,
      secure,
      size: options.maxMessageSize,
      maxClients: options.maxConnections,
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: false,
      allowInsecureAuth: false,
      disableReverseLookup: true,
      logger: false,
      socketTimeout: 5 * 60_000,
      closeTimeout: 1000,
      // DSN parameters are not relayed: the relay bounces by itself.
      hideDSN: true,

      onConnect(session, callback) {
        // AUTH is not even offered before TLS, so no client sends a token in the clear.
        session.disabledCommands = session.secure ? [] : ['AUTH'];
        callback();
      },

      onSecure(_socket, session, callback) {
        session.disabledCommands = [];
        callback();
      },

      onAuth(auth: SMTPServerAuthentication, session, callback) {
        if (!session.secure) return callback(smtpError(538, '5.7.11 Encryption required: use STARTTLS first'));
        const login = auth.username ?? '';
        logins.check(login, auth.password ?? '', session.remoteAddress).then(
          (outcome) => {
            if (!outcome.ok) {
              if (outcome.reason === 'blocked') {
                return callback(smtpError(454, `4.7.0 Too many failed logins from your address; try again in ${outcome.retryAfter} seconds`));
              }
              log.info({ conn: session.id, login: login.slice(0, 100), remote: session.remoteAddress }, 'submission login failed');
              return callback(smtpError(535, '5.7.8 Invalid login or token'));
            }
            states.set(session, { login: outcome.login, local: new Map(), remote: [] });
            log.info({ conn: session.id, user: outcome.login.user.name, address: outcome.login.alias?.address }, 'submission login');
            callback(null, { user: outcome.login.user.name });
          },
          (error: unknown) => {
            log.error({ err: error, conn: session.id }, 'submission login check failed');
            callback(smtpError(454, '4.7.0 Temporary authentication failure'));
          },
        );
      },

      onMailFrom(address, session, callback) {
        const state = states.get(session);
        if (!state || !session.user) return callback(smtpError(530, '5.7.0 Authentication required'));
        state.local = new Map();
        state.remote = [];
        mayUse(state.login, address.address).then(
          (refusal) => callback(refusal ?? undefined),
          (error: unknown) => {
            log.error({ err: error, conn: session.id }, 'sender check failed');
            callback(smtpError(451, '4.3.0 Temporary failure, try again later'));
          },
        );
      },

      onRcptTo(address, session, callback) {
        const state = states.get(session);
        if (!state) return callback(smtpError(530, '5.7.0 Authentication required'));
        const rcpt = address.address.trim();
        if (!ADDRESS.test(rcpt)) return callback(smtpError(553, `5.1.3 <${rcpt}>: not a valid address`));
        if (state.local.size + state.remote.length >= MAX_RECIPIENTS) return callback(smtpError(452, '4.5.3 Too many recipients'));
        const domain = rcpt.split('@').pop()!.toLowerCase();
        if (!domains.has(domain)) {
          if (!state.remote.some((r) => r.toLowerCase() === rcpt.toLowerCase())) state.remote.push(rcpt);
          return callback();
        }
        // Our own domains are delivered here and now, so an unknown address is refused now too.
        aliases.checkRecipient(rcpt).then(
          (verdict) => {
            if (!verdict.ok) return callback(smtpError(550, `5.1.1 <${rcpt}>: no such address here`));
            state.local.set(verdict.alias.address, { id: verdict.alias.id, userId: verdict.alias.userId, address: verdict.alias.address });
            callback();
          },
          (error: unknown) => {
            log.error({ err: error, conn: session.id }, 'recipient check failed');
            callback(smtpError(451, '4.3.0 Temporary failure, try again later'));
          },
        );
      },

      onData(stream, session, callback) {
        const state = states.get(session);
        readMessage(stream, options.maxMessageSize)
          .then(async (raw) => {
            if (!state) return callback(smtpError(530, '5.7.0 Authentication required'));
            if (!raw) return callback(smtpError(552, `5.3.4 Message too big: the limit is ${options.maxMessageSize} bytes`));
            const from = fromAddresses(parseHeader(raw).fields);
            if (from.length === 0) return callback(smtpError(550, '5.6.0 The message has no From address'));
            for (const address of from) {
              const refusal = await mayUse(state.login, address);
              if (refusal) return callback(smtpError(550, `5.7.1 From <${address}>: you may send only as one of your own active addresses`));
            }
            const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address.toLowerCase() : '';
            const result = await outbound.submit({
              userId: state.login.user.id,
              mailFrom,
              signingDomain: from[0]!.split('@').pop()!,
              local: [...state.local.values()],
              remote: state.remote,
              raw,
            });
            log.info(
              { conn: session.id, user: state.login.user.name, from: mailFrom, to: [...state.local.keys(), ...state.remote], queueId: result.queueId, stored: result.stored, size: raw.length },
              'submitted',
            );
            callback(null, `2.0.0 Queued as ${result.queueId ?? `local ${result.stored.join(',')}`}`);
          })
          .catch((error: unknown) => {
            log.error({ err: error, conn: session.id }, 'submission failed');
            callback(smtpError(451, '4.3.0 The message could not be queued, try again later'));
          });
      },
    });

  const plain = make(false);
  const secure = make(true);
  const closeOne = (server: SMTPServer) => new Promise<void>((resolve) => (server.server.listening ? server.close(() => resolve()) : resolve()));
  return { plain, secure, close: async () => void (await Promise.all([closeOne(plain), closeOne(secure)])) };
}
