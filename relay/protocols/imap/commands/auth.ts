// STARTTLS, LOGIN and AUTHENTICATE PLAIN (with SASL-IR). The password is a token of the user; the
// login is the user's name, or one of its addresses for a session that sees that address alone.
import { NOT_AUTHENTICATED, command } from '../registry.ts';
import { bad, no, ok } from '../session.ts';
import type { Result, Session } from '../session.ts';

async function logIn(s: Session, login: string, token: string): Promise<Result> {
  if (!s.loginAllowed) return no('Log in only over TLS: use STARTTLS first.', 'PRIVACYREQUIRED');
  // Failures come back only after the shared throttle's delay, which grows with each one.
  const outcome = await s.deps.logins.check(login, token, s.io.remoteAddress);
  if (!outcome.ok && outcome.reason === 'blocked') {
    return no(`Too many failed logins from your address; try again in ${outcome.retryAfter} seconds.`, 'UNAVAILABLE');
  }
  if (!outcome.ok) {
    s.deps.log.info({ conn: s.io.id, login: login.slice(0, 100), remote: s.io.remoteAddress }, 'imap login failed');
    return no('Invalid login or token.', 'AUTHENTICATIONFAILED');
  }
  const { user, alias } = outcome.login;
  s.loggedIn({ user, alias });
  s.deps.log.info({ conn: s.io.id, user: user.name, address: alias?.address }, 'imap login');
  // Some clients read capabilities only here (as Dovecot sends them).
  return ok('Logged in', `CAPABILITY ${s.capabilities().join(' ')}`);
}

export const authCommands = [
  command('STARTTLS', {
    states: NOT_AUTHENTICATED,
    expunges: true,
    async handle(s) {
      if (s.io.secure) return bad('TLS is active already.');
      return { ...ok('Begin TLS negotiation now'), after: s.io.beginTls() };
    },
  }),
  command('LOGIN', {
    states: NOT_AUTHENTICATED,
    expunges: true,
    handle: (s, c) => logIn(s, c.user, c.password),
  }),
  command('AUTHENTICATE', {
    states: NOT_AUTHENTICATED,
    expunges: true,
    async handle(s, c) {
      if (c.mechanism !== 'PLAIN') return no(`The mechanism ${c.mechanism.slice(0, 30)} is not supported; use PLAIN.`);
      if (!s.loginAllowed) return no('Log in only over TLS: use STARTTLS first.', 'PRIVACYREQUIRED');
      let response = c.initial;
      if (response === null) {
        s.io.write(['+ \r\n']);
        await s.io.flush();
        const line = await s.io.readLine();
        if (line === null) return bad('The connection ended.');
        response = line.toString('latin1').trim();
        if (response === '*') return bad('Authentication cancelled.');
      }
      if (response === '=') response = '';
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(response)) return bad('The response is not base64.');
      const [authz, authc, password, ...rest] = Buffer.from(response, 'base64').toString('utf8').split('\0');
      if (authc === undefined || password === undefined || rest.length > 0) return bad('Expected authzid NUL authcid NUL token.');
      if (authz && authz.toLowerCase() !== authc.toLowerCase()) return no('Acting as another identity is not supported.', 'AUTHORIZATIONFAILED');
      return logIn(s, authc, password);
    },
  }),
];
