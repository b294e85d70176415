// Reading and managing stored mail on behalf of one user.
import { simpleParser } from 'mailparser';
import type { MessageDetail } from '../../shared/api.ts';
import type { Bus, MessageRecord, Page, Store, User } from './ports.ts';
import { invalid, notFound } from './errors.ts';
import { messageToWire } from './wire.ts';
import { sanitizeMailHtml } from './sanitize.ts';
import type { Aliases } from './aliases.ts';

export const MAX_PAGE = 200;
export const DEFAULT_PAGE = 50;

export interface ListRequest {
  alias?: string;
  since?: string;
  limit?: string;
  cursor?: string;
}

export function parseLimit(limit: string | undefined): number {
  if (limit === undefined || limit === '') return DEFAULT_PAGE;
  const n = Number(limit);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw invalid(`limit must be a whole number from 1 to ${MAX_PAGE}.`);
  return n;
}

export function parseCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  if (!/^\d{1,18}$/.test(cursor)) throw invalid('cursor must be the "next" value of a previous page.');
  return cursor;
}

/** Message ids are positive integers; anything else names no message. */
function parseId(id: string): number {
  if (!/^\d{1,15}$/.test(id)) throw notFound(`There is no message ${id}.`);
  return Number(id);
}

export class Messages {
  constructor(
    private store: Store,
    private aliases: Aliases,
    /** Told of seen changes and deletions, so IMAP sessions show them at once. */
    private bus: Bus,
  ) {}

  async list(user: User, request: ListRequest): Promise<Page<MessageRecord>> {
    let since: Date | undefined;
    if (request.since) {
      since = new Date(request.since);
      if (Number.isNaN(since.getTime())) throw invalid('since must be an ISO 8601 time, e.g. 2026-11-26T05:00:00Z.');
    }
    const aliasId = request.alias ? (await this.aliases.get(user, request.alias)).id : undefined;
    return this.store.listMessages(user.id, { aliasId, since, cursor: parseCursor(request.cursor), limit: parseLimit(request.limit) });
  }

  async get(user: User, id: string): Promise<MessageRecord> {
    const message = await this.store.getMessage(user.id, parseId(id));
    if (!message) throw notFound(`There is no message ${id}.`);
    return message;
  }

  async raw(user: User, id: string): Promise<Buffer> {
    const raw = await this.store.getRaw(user.id, parseId(id));
    if (!raw) throw notFound(`There is no message ${id}.`);
    return raw;
  }

  async detail(user: User, id: string): Promise<MessageDetail> {
    const message = await this.get(user, id);
    const raw = await this.raw(user, id);
    const mail = await simpleParser(raw, { skipImageLinks: true, skipTextLinks: true });
    const headers: Record<string, string> = {};
    for (const { key, line } of mail.headerLines) {
      const value = line.slice(line.indexOf(':') + 1).trim();
      headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
    }
    return {
      ...messageToWire(message),
      text: mail.text ?? null,
      html: typeof mail.html === 'string' ? sanitizeMailHtml(mail.html) : null,
      headers,
      attachments: mail.attachments.map((a) => ({ filename: a.filename ?? null, contentType: a.contentType, size: a.size })),
    };
  }

  async setSeen(user: User, id: string, seen: unknown): Promise<MessageRecord> {
    if (typeof seen !== 'boolean') throw invalid('seen must be true or false.');
    const message = await this.store.setSeen(user.id, parseId(id), seen);
    if (!message) throw notFound(`There is no message ${id}.`);
    this.bus.publish({ type: 'flags', userId: user.id, messageIds: [message.id] });
    return message;
  }

  async remove(user: User, id: string): Promise<void> {
    const messageId = parseId(id);
    if (!(await this.store.deleteMessage(user.id, messageId))) throw notFound(`There is no message ${id}.`);
    this.bus.publish({ type: 'expunge', userId: user.id, messageIds: [messageId] });
  }
}
