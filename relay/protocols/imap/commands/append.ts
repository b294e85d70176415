// APPEND stores a message for one address through the ingest pipeline, like any arrival (the
// WebSocket pushes it, codes are extracted). Into Aliases/<address> it is that address's message;
// into INBOX only for a session logged in as an address, since the INBOX of a user login holds every
// address's mail and would not say whose the message is (NO [CANNOT] then).
import { storableFlags } from '../flags.ts';
import { AUTHENTICATED, command } from '../registry.ts';
import { no, ok } from '../session.ts';
import { mailboxOrFail } from './mailbox.ts';

export const appendCommands = [
  command('APPEND', {
    states: AUTHENTICATED,
    expunges: true,
    async handle(s, c) {
      const found = await mailboxOrFail(s, c.mailbox);
      if ('status' in found) return { ...found, code: 'TRYCREATE' };
      const alias = found.alias;
      if (!found.selectable || !alias) {
        return no(`${found.name} holds the mail of all your addresses: append to Aliases/<address> to say whose the message is.`, 'CANNOT');
      }
      if (c.message.length === 0) return no('The message is empty.');
      if (c.message.length > s.deps.maxMessageSize) return no(`The message is larger than ${s.deps.maxMessageSize} bytes.`, 'TOOBIG');
      const flags = storableFlags(c.flags);
      const [id] = await s.deps.ingest.deliver({
        raw: c.message,
        mailFrom: '',
        recipients: [{ id: alias.id, userId: alias.userId }],
        receivedAt: c.date ?? new Date(),
      });
      if (id === undefined) return no('The message was not stored; try again.', 'SERVERBUG');
      if (flags.length > 0) {
        const updates = await s.deps.store.updateFlags(found.scope, [id], 'replace', flags);
        if (updates.some((u) => u.changed)) s.publish({ type: 'flags', userId: alias.userId, messageIds: [id] });
      }
      return ok('APPEND completed', `APPENDUID ${found.uidValidity} ${id}`);
    },
  }),
];
