// The command table and the one dispatcher: each command declares the states it is valid in and
// whether it may announce expunges (RFC 3501 §7.4.1 forbids that during FETCH, STORE and SEARCH by
// sequence number); the dispatcher enforces both, runs the handler, announces pending updates and
// turns every outcome (errors included) into the tagged response, here and nowhere else.
import type { Command, CommandName } from './ast.ts';
import { parseCommand } from './parser.ts';
import { ImapError, no } from './session.ts';
import type { Result, Session, State } from './session.ts';

export interface CommandSpec<C extends Command = Command> {
  states: readonly State[];
  /** May untagged EXPUNGE responses be sent while this command runs? */
  expunges: boolean;
  handle(session: Session, command: C): Promise<Result>;
}

type Entry = [string, CommandSpec];

/** A table entry; `uid` makes it the `UID <name>` form. */
export function command<N extends CommandName>(name: N, spec: CommandSpec<Command & { name: N }>, uid = false): Entry {
  return [uid ? `UID ${name}` : name, spec as unknown as CommandSpec];
}

export const ANY: readonly State[] = ['not-authenticated', 'authenticated', 'selected'];
export const NOT_AUTHENTICATED: readonly State[] = ['not-authenticated'];
export const AUTHENTICATED: readonly State[] = ['authenticated', 'selected'];
export const SELECTED: readonly State[] = ['selected'];

export class Registry {
  private table = new Map<string, CommandSpec>();

  add(...entries: Entry[]): this {
    for (const [key, spec] of entries) this.table.set(key, spec);
    return this;
  }

  get(key: string): CommandSpec | undefined {
    return this.table.get(key);
  }
}

function wrongState(state: State): string {
  if (state === 'not-authenticated') return 'Log in first.';
  if (state === 'authenticated') return 'Select a mailbox first.';
  return 'Not valid in this state: you are logged in already.';
}

/** Response text never carries a line break, whatever a client put in its command. */
const oneLine = (text: string) => text.replace(/[\r\n\0]+/g, ' ').slice(0, 300);

function tagged(tag: string, result: Result): string {
  return `${tag} ${result.status}${result.code ? ` [${result.code}]` : ''} ${oneLine(result.text)}\r\n`;
}

export type ErrorLogger = (err: unknown, command: string) => void;

/** Parses and runs one command, then writes its tagged response. */
export async function dispatch(registry: Registry, session: Session, bytes: Buffer, logError: ErrorLogger): Promise<void> {
  const parsed = parseCommand(bytes);
  if (!parsed.ok) {
    session.io.write([`${parsed.tag ?? '*'} BAD ${oneLine(parsed.text)}\r\n`]);
    return session.io.flush();
  }
  const c = parsed.command;
  const key = 'uid' in c && c.uid ? `UID ${c.name}` : c.name;
  const spec = registry.get(key);
  let result: Result;
  if (!spec) result = { status: 'BAD', text: `Unknown command ${key}` };
  else if (!spec.states.includes(session.state)) result = { status: 'BAD', text: wrongState(session.state) };
  else {
    try {
      result = await spec.handle(session, c);
    } catch (err) {
      if (err instanceof ImapError) result = { status: err.status, text: err.message, ...(err.code ? { code: err.code } : {}) };
      else {
        logError(err, key);
        result = no('The server failed to complete the command; try again.', 'SERVERBUG');
      }
    }
    if (session.state === 'selected') await session.sync(spec.expunges);
  }
  session.io.write([tagged(c.tag, result)]);
  await session.io.flush();
  if (result.after) await result.after();
}
