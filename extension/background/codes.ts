// What happens when a message arrives: a code goes into the site's open tab and onto the
// clipboard, and a notification says so; a link-only message gets a notification with an
// "Open link" action and nothing opens until the user clicks it.
import type { Summary } from '../../shared/api.ts';
import type { CodeReply } from '../messages.ts';

/** Catch-up messages older than this are listed but not acted on (their codes are stale). */
export const FRESH_MS = 10 * 60_000;

export type NoteAction = 'copy' | 'open';

export interface Note {
  /** The message id, so a click can find the message again after a service-worker restart. */
  messageId: string;
  title: string;
  message: string;
  actions: NoteAction[];
}

export interface DeliveryDeps {
  /** Tab ids whose top-level page belongs to this site. */
  tabsForSite(site: string): Promise<number[]>;
  sendCode(tabId: number, code: string, messageId: string): Promise<CodeReply | null>;
  copy(text: string): Promise<boolean>;
  notify(note: Note): Promise<void>;
}

export interface DeliveryResult {
  tabs: number;
  filled: number;
  copied: boolean;
}

export function isFresh(message: Pick<Summary, 'receivedAt'>, now = Date.now()): boolean {
  const at = Date.parse(message.receivedAt);
  return Number.isFinite(at) && now - at < FRESH_MS;
}

/** Only web links are ever offered for opening. */
export function safeLink(link: string | null): string | null {
  if (!link) return null;
  try {
    const u = new URL(link);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}

export async function deliver(message: Summary, site: string | null, deps: DeliveryDeps): Promise<DeliveryResult> {
  const where = site ?? message.alias;
  const link = safeLink(message.link);
  if (!message.code) {
    if (link) {
      await deps.notify({
        messageId: message.id,
        title: `Link from ${where}`,
        message: `${message.subject || '(no subject)'}\n${new URL(link).host}`,
        actions: ['open'],
      });
    }
    return { tabs: 0, filled: 0, copied: false };
  }
  const code = message.code;
  const tabs = site ? await deps.tabsForSite(site) : [];
  // Filling first: it is what the user is waiting for; the clipboard goes alongside.
  const fills = Promise.all(tabs.map((id) => deps.sendCode(id, code, message.id).catch(() => null)));
  const copying = tabs.length > 0 ? deps.copy(code).catch(() => false) : Promise.resolve(false);
  const [replies, copied] = await Promise.all([fills, copying]);
  const filled = replies.filter((r) => r?.filled).length;
  const waiting = replies.filter((r) => r?.pending).length;
  const said = [
    copied ? 'Copied to the clipboard' : null,
    filled ? 'filled in' : waiting ? 'will be filled in when the code field appears' : null,
  ].filter(Boolean);
  await deps.notify({
    messageId: message.id,
    title: `${code} — code for ${where}`,
    message: said.length ? said.join(', ') + '.' : `${message.subject || 'A code arrived'}.`,
    actions: [...(copied ? [] : (['copy'] as NoteAction[])), ...(link ? (['open'] as NoteAction[]) : [])],
  });
  return { tabs: tabs.length, filled, copied };
}
