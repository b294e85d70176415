// The one path every message takes, whatever brought it: parse → extract → store → publish.
// The promise resolves only once the message is on disk, so a caller may then acknowledge it.
import type { AliasRecord, Bus, Store } from './ports.ts';
import { parseSummary } from './parse.ts';

export interface Delivery {
  /** The message as it will be stored, trace headers included. */
  raw: Buffer;
  /** Envelope sender; '' for the null sender of bounces. */
  mailFrom: string;
  recipients: AliasRecord[];
  receivedAt?: Date;
}

export class Ingest {
  constructor(
    private store: Store,
    private bus: Bus,
    private onStored: (count: number, seconds: number) => void = () => {},
  ) {}

  async deliver(delivery: Delivery): Promise<number[]> {
    const started = performance.now();
    const fields = await parseSummary(delivery.raw, delivery.mailFrom);
    const receivedAt = delivery.receivedAt ?? new Date();
    // Each address keeps its own copy, so deleting one never touches another's mail.
    const ids = await this.store.saveMessages(
      delivery.recipients.map((alias) => ({
        ...fields,
        userId: alias.userId,
        aliasId: alias.id,
        receivedAt,
        raw: delivery.raw,
        mailFrom: delivery.mailFrom,
      })),
    );
    this.onStored(ids.length, (performance.now() - started) / 1000);
    ids.forEach((messageId, i) => {
      this.bus.publish({ type: 'message', userId: (delivery.recipients[i] as AliasRecord).userId, messageId });
    });
    return ids;
  }
}
