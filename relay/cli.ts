// The wisp-relay command line (INTERFACE.md §1): serve, user add|token|list|remove, and dkim.
import { ConfigError, buildConfig, parseFlags, storageConfig, usage, STORAGE_OPTIONS } from './config.ts';
import { createLogger } from './log.ts';
import { startRelay } from './main.ts';
import { openStore } from './store/open.ts';
import { Users } from './core/users.ts';
import { WispError } from './core/errors.ts';
import { dkimRecords, loadDkimKey, zoneLine } from './dkim.ts';

async function serve(argv: string[]): Promise<number> {
  const { values, positional } = parseFlags(argv);
  if (positional.length) throw new ConfigError(`serve takes no argument "${positional[0]}"`);
  const config = buildConfig(values);
  const log = createLogger(config.logLevel);
  const relay = await startRelay(config, log);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await relay.close();
  return 0;
}

async function user(argv: string[]): Promise<number> {
  const { values, positional } = parseFlags(argv, STORAGE_OPTIONS);
  const [action, name, ...extra] = positional;
  const needsName = action === 'add' || action === 'token' || action === 'remove';
  if (!action || !['add', 'token', 'list', 'remove'].includes(action)) {
    throw new ConfigError('user needs one of: add NAME, token NAME, list, remove NAME');
  }
  if (needsName && !name) throw new ConfigError(`user ${action} needs a NAME`);
  if (extra.length || (!needsName && name)) throw new ConfigError(`user ${action} takes ${needsName ? 'one NAME' : 'no argument'}`);

  const store = await openStore(storageConfig(values).db);
  try {
    const users = new Users(store);
    if (action === 'add') console.log((await users.add(name as string)).token);
    else if (action === 'token') console.log(await users.addToken(name as string));
    else if (action === 'remove') {
      await users.remove(name as string);
      console.log(`removed ${name} with its addresses and mail`);
    } else {
      for (const u of await users.list()) {
        console.log(`${u.name}\t${u.aliasCount} addresses\t${u.messageCount} messages\tsince ${u.createdAt.toISOString()}`);
      }
    }
  } finally {
    await store.close();
  }
  return 0;
}

/** Prints the DKIM records to publish (making the key first if the relay has not yet). */
async function dkim(argv: string[]): Promise<number> {
  const { values, positional } = parseFlags(argv, [...STORAGE_OPTIONS, 'domain']);
  if (positional.length) throw new ConfigError(`dkim takes no argument "${positional[0]}"`);
  const config = buildConfig(values);
  const key = await loadDkimKey(config.dataDir);
  if (key.generated) console.log(`# made a new DKIM key: ${key.keyPath}`);
  console.log(`# Outgoing mail is signed with selector "${key.selector}". Publish one TXT record per domain:`);
  for (const record of dkimRecords(key, config.domains)) {
    console.log('');
    console.log(`# name: ${record.name}   type: TXT   value:`);
    console.log(record.value);
    console.log(zoneLine(record));
  }
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'serve') return await serve(rest);
    if (command === 'user') return await user(rest);
    if (command === 'dkim') return await dkim(rest);
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      console.log(usage());
      return command === undefined ? 2 : 0;
    }
    throw new ConfigError(`unknown command "${command}" (try serve, user or dkim; --help lists the options)`);
  } catch (err) {
    const known = err instanceof ConfigError || err instanceof WispError;
    const message = (err as Error).message ?? String(err);
    // One line, no stack: the reason is for a person at a terminal.
    console.error(`wisp-relay: ${message.split('\n')[0]}`);
    return known && err instanceof ConfigError ? 2 : 1;
  }
}
