// Logging in to a mail protocol (POP3, SMTP submission): the password is one of the user's tokens;
// the login is the user's name (all of its mail, any of its addresses) or one of its addresses (that
// address alone). Failures are slowed down by the shared LoginThrottle.
import type { AliasRecord, MailboxScope, Store, User } from './ports.ts';
import type { Users } from './users.ts';
import type { LoginThrottle } from './login-throttle.ts';

export interface MailLogin {
  user: User;
  /** Set when the login named one of the user's addresses: the session is that address's alone. */
  alias: AliasRecord | null;
}

export type LoginOutcome =
  | { ok: true; login: MailLogin }
  /** Too many failures from this client address: refused without checking. */
  | { ok: false; reason: 'blocked'; retryAfter: number }
  | { ok: false; reason: 'invalid' };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function scopeOf(login: MailLogin): MailboxScope {
  return login.alias ? { userId: login.user.id, aliasId: login.alias.id } : { userId: login.user.id };
}

export class MailLogins {
  constructor(
    private store: Store,
    private users: Users,
    readonly throttle: LoginThrottle,
  ) {}

  /** Checks a login and token; a failure resolves only after the throttle's delay. */
  async check(login: string, token: string, remote: string): Promise<LoginOutcome> {
    const retryAfter = this.throttle.blocked(remote);
    if (retryAfter > 0) return { ok: false, reason: 'blocked', retryAfter };
    const name = login.trim().toLowerCase();
    const user = name ? await this.users.authenticate(token) : null;
    let alias: AliasRecord | null = null;
    let good = false;
    if (user) {
      if (name.includes('@')) {
        alias = await this.store.getAlias(name);
        good = alias !== null && alias.userId === user.id;
      } else good = user.name === name;
    }
    if (!good || !user) {
      await sleep(this.throttle.failed(name, remote));
      return { ok: false, reason: 'invalid' };
    }
    this.throttle.succeeded(name);
    return { ok: true, login: { user, alias } };
  }
}
