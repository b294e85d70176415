// IDLE (RFC 2177): new mail, expunges and flag changes are announced the moment the event bus
// reports them, until the client sends DONE.
import { AUTHENTICATED, command } from '../registry.ts';
import { bad, ok } from '../session.ts';

export const idleCommands = [
  command('IDLE', {
    states: AUTHENTICATED,
    expunges: true,
    async handle(s) {
      s.io.write(['+ idling\r\n']);
      s.idling = true;
      try {
        s.kick();
        await s.io.flush();
        const line = await s.io.readLine();
        if (line === null) return bad('The connection ended.');
        if (line.toString('latin1').trim().toUpperCase() !== 'DONE') return bad('Expected DONE to end IDLE.');
        return ok('IDLE terminated');
      } finally {
        s.idling = false;
      }
    },
  }),
];
