// The one path every message takes, whatever brought it: parse → extract → store → publish.
// The promise resolves only once the message is on disk, so a caller may then acknowledge it.
import type { AliasRecord, Bus, NewMessage, Store } from './ports.ts';
import { parseSummary } from './parse.ts';

/** Who a copy is for. */
export type Recipient = Pick<AliasRecord, 'id' | 'userId'>;

export interface Delivery {
  /** The message as it will be stored, trace headers included. */
  raw: Buffer;
  /** Envelope sender; '' for the null sender of bounces. */
  mailFrom: string;
  recipients: Recipient[];
  receivedAt: Date;
}

/** Durably stores messages in one commit and resolves with their ids: the Store's saveMessages. */
export type MessageWriter = (messages: NewMessage[]) => Promise<number[]>;

/** The writer that commits on the calling thread. */
export function inlineWriter(store: Store): MessageWriter {
  return (messages) => store.saveMessages(messages);
}

export class Ingest {
  constructor(
    private write: MessageWriter,
    private bus: Bus,
    private onStored: (count: number, seconds: number) => void = () => {},
  ) {}

  async deliver({ raw, mailFrom, recipients, receivedAt }: Delivery): Promise<number[]> {
    const started = performance.now();
    const fields = await parseSummary(raw, mailFrom);
    // Each address keeps its own copy, so deleting one never touches another's mail.
    const ids = await this.write(recipients.map((r) => ({ ...fields, userId: r.userId, aliasId: r.id, receivedAt, raw, mailFrom })));
    this.onStored(ids.length, (performance.now() - started) / 1000);
    ids.forEach((messageId, i) => {
      this.bus.publish({ type: 'message', userId: (recipients[i] as Recipient).userId, messageId });
    });
    return ids;
  }
}
