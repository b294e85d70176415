// Users and their tokens.
import { hashToken, looksLikeToken, newToken } from './tokens.ts';
import { WispError, invalid } from './errors.ts';
import type { Store, User, UserListing } from './ports.ts';

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export class Users {
  constructor(private store: Store) {}

  /** Creates the user and returns its first token. */
  async add(name: string): Promise<{ user: User; token: string }> {
    if (!NAME.test(name)) {
      throw invalid(`"${name}" is not a valid user name: use 1–64 lowercase letters, digits, dots, dashes or underscores.`);
    }
    if (await this.store.getUserByName(name)) throw new WispError('conflict', `The user ${name} exists already.`);
    const user = await this.store.createUser(name, new Date());
    return { user, token: await this.issueToken(user) };
  }

  async addToken(name: string): Promise<string> {
    return this.issueToken(await this.require(name));
  }

  list(): Promise<UserListing[]> {
    return this.store.listUsers();
  }

  async remove(name: string): Promise<void> {
    if (!(await this.store.deleteUser(name))) throw new WispError('not-found', `There is no user ${name}.`);
  }

  async authenticate(token: unknown): Promise<User | null> {
    if (!looksLikeToken(token)) return null;
    return this.store.findUserByTokenHash(hashToken(token));
  }

  private async require(name: string): Promise<User> {
    const user = await this.store.getUserByName(name);
    if (!user) throw new WispError('not-found', `There is no user ${name}.`);
    return user;
  }

  private async issueToken(user: User): Promise<string> {
    const token = newToken();
    await this.store.addToken(user.id, hashToken(token), new Date());
    return token;
  }
}
