// The one path every message takes, whatever brought it: parse → extract → store → publish.
// The promise resolves only once the message is on disk, so a caller may then acknowledge it.
import type { AliasRecord, Bus, Store } from './ports.ts';
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

/** Parses and durably stores a delivery, one copy per recipient; resolves with the copies' ids. */
export type MessageWriter = (delivery: Delivery) => Promise<number[]>;

/** The writer that does the work on the calling thread. */
export function inlineWriter(store: Store): MessageWriter {
  return async ({ raw, mailFrom, recipients, receivedAt }) => {
    const fields = await parseSummary(raw, mailFrom);
    // Each address keeps its own copy, so deleting one never touches another's mail.
    return store.saveMessages(recipients.map((r) => ({ ...fields, userId: r.userId, aliasId: r.id, receivedAt, raw, mailFrom })));
  };
}

export class Ingest {
  constructor(
    private write: MessageWriter,
    private bus: Bus,
    private onStored: (count: number, seconds: number) => void = () => {},
  ) {}

  async deliver(delivery: Delivery): Promise<number[]> {
    const started = performance.now();
    const ids = await this.write(delivery);
    this.onStored(ids.length, (performance.now() - started) / 1000);
    ids.forEach((messageId, i) => {
      this.bus.publish({ type: 'message', userId: (delivery.recipients[i] as Recipient).userId, messageId });
    });
    return ids;
  }
}
