// Records → the wire types every interface shows (shared/api.ts).
import type { Alias, Summary } from '../../shared/api.ts';
import type { AliasRecord, MessageRecord } from './ports.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function aliasToWire(a: AliasRecord): Alias {
  return {
    address: a.address,
    site: a.site,
    label: a.label,
    active: a.active,
    createdAt: a.createdAt.toISOString(),
    expiresAt: iso(a.expiresAt),
    messageCount: a.messageCount,
    lastMessageAt: iso(a.lastMessageAt),
  };
}

export function messageToWire(m: MessageRecord): Summary {
  return {
    id: String(m.id),
    alias: m.alias,
    site: m.site,
    from: m.from,
    subject: m.subject,
    receivedAt: m.receivedAt.toISOString(),
    size: m.size,
    seen: m.seen,
    preview: m.preview,
    code: m.code,
    link: m.link,
  };
}
