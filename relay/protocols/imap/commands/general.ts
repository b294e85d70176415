// Commands valid in any state, and the small ones of the authenticated state.
import { ANY, AUTHENTICATED, SELECTED, command } from '../registry.ts';
import { ok } from '../session.ts';
import { encodeValue } from '../encoder.ts';
import type { Value } from '../encoder.ts';

export const generalCommands = [
  command('CAPABILITY', {
    states: ANY,
    expunges: true,
    async handle(s) {
      s.untagged(`CAPABILITY ${s.capabilities().join(' ')}`);
      return ok('CAPABILITY completed');
    },
  }),
  // Pending updates (new mail, expunges, flags) are announced by the dispatcher after any command.
  command('NOOP', { states: ANY, expunges: true, handle: async () => ok('NOOP completed') }),
  command('CHECK', { states: SELECTED, expunges: true, handle: async () => ok('CHECK completed') }),
  command('LOGOUT', {
    states: ANY,
    expunges: true,
    async handle(s) {
      s.untagged('BYE Wisp IMAP server logging out');
      s.end();
      return { ...ok('LOGOUT completed'), after: () => s.io.close() };
    },
  }),
  command('ID', {
    states: ANY,
    expunges: true,
    async handle(s) {
      const out: (string | Buffer)[] = ['* ID '];
      encodeValue(['name', 'Wisp', 'vendor', 'Wisp'] as Value, out);
      out.push('\r\n');
      s.io.write(out);
      return ok('ID completed');
    },
  }),
  command('ENABLE', {
    states: AUTHENTICATED,
    expunges: true,
    async handle(s) {
      // No extension this server offers needs enabling (no CONDSTORE, QRESYNC or UTF8=ACCEPT).
      s.untagged('ENABLED');
      return ok('ENABLE completed');
    },
  }),
  command('NAMESPACE', {
    states: AUTHENTICATED,
    expunges: true,
    async handle(s) {
      s.untagged('NAMESPACE (("" "/")) NIL NIL');
      return ok('NAMESPACE completed');
    },
  }),
];
