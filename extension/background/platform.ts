// The browser side of delivery: finding the site's tabs, asking their content scripts to fill,
// the clipboard, and notifications. Chrome and Firefox differ in the last two.
import { browser } from 'wxt/browser';
import { siteOf } from '../../shared/site.ts';
import type { CodeReply, ContentCommand, OffscreenRequest, WhereReply } from '../messages.ts';
import type { Note, NoteAction } from './codes.ts';
import { copyFromPage } from '../utils/clipboard.ts';

const IS_FIREFOX = import.meta.env.FIREFOX;

export function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(fallback), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      () => {
        clearTimeout(t);
        resolve(fallback);
      },
    );
  });
}

export function tell<R>(tabId: number, command: ContentCommand, timeoutMs = 1500): Promise<R | null> {
  return withTimeout(browser.tabs.sendMessage(tabId, command, { frameId: 0 }) as Promise<R>, timeoutMs, null);
}

/** The tab's top-level URL: from the tab when the browser shows it to us, else from its content script. */
export async function tabUrl(tab: { id?: number; url?: string }): Promise<string | null> {
  if (tab.url && /^https?:/i.test(tab.url)) return tab.url;
  if (tab.id === undefined) return null;
  const reply = await tell<WhereReply>(tab.id, { type: 'where' }, 500);
  return reply?.url ?? null;
}

export async function tabsForSite(site: string): Promise<number[]> {
  const tabs = await browser.tabs.query({});
  const ids = await Promise.all(
    tabs.map(async (tab) => {
      if (tab.id === undefined || tab.id < 0) return null;
      if (tab.url && !/^https?:/i.test(tab.url)) return null; // about:, chrome:, file: pages never run our script
      const url = await tabUrl(tab);
      return url && siteOf(url) === site ? tab.id : null;
    }),
  );
  return ids.filter((id): id is number => id !== null);
}

export function sendCode(tabId: number, code: string, messageId: string): Promise<CodeReply | null> {
  return tell<CodeReply>(tabId, { type: 'code', code, messageId });
}

// ---------------------------------------------------------------- clipboard

interface ChromeOffscreen {
  createDocument(p: { url: string; reasons: string[]; justification: string }): Promise<void>;
  closeDocument(): Promise<void>;
}
interface ChromeRuntimeContexts {
  getContexts?(filter: { contextTypes: string[] }): Promise<unknown[]>;
}

let offscreenReady: Promise<void> | null = null;
let offscreenClose: ReturnType<typeof setTimeout> | null = null;

async function ensureOffscreen(): Promise<void> {
  const chromeApi = (globalThis as unknown as { chrome: { offscreen: ChromeOffscreen; runtime: ChromeRuntimeContexts } }).chrome;
  const existing = (await chromeApi.runtime.getContexts?.({ contextTypes: ['OFFSCREEN_DOCUMENT'] })) ?? [];
  if (existing.length > 0) return;
  offscreenReady ??= chromeApi.offscreen
    .createDocument({ url: 'offscreen.html', reasons: ['CLIPBOARD'], justification: 'Copy the verification code that just arrived.' })
    .catch((err: unknown) => {
      // "Only a single offscreen document may be created": another call made it first.
      if (!String(err).includes('single offscreen')) throw err;
    })
    .finally(() => {
      offscreenReady = null;
    });
  await offscreenReady;
}

export async function copy(text: string): Promise<boolean> {
  // Firefox's background page has a DOM of its own.
  if (IS_FIREFOX) return copyFromPage(text);
  await ensureOffscreen();
  const ok = (await browser.runtime.sendMessage({ target: 'offscreen', type: 'copy', text } satisfies OffscreenRequest)) === true;
  if (offscreenClose) clearTimeout(offscreenClose);
  offscreenClose = setTimeout(() => {
    const chromeApi = (globalThis as unknown as { chrome: { offscreen: ChromeOffscreen } }).chrome;
    void chromeApi.offscreen.closeDocument().catch(() => undefined);
  }, 30_000);
  return ok;
}

// ---------------------------------------------------------------- notifications

const LABELS: Record<NoteAction, string> = { copy: 'Copy code', open: 'Open link' };

export function noteId(note: Pick<Note, 'messageId' | 'actions'>): string {
  return `wisp|${note.messageId}|${note.actions.join(',')}`;
}

export function parseNoteId(id: string): { messageId: string; actions: NoteAction[] } | null {
  const [prefix, messageId, actions] = id.split('|');
  if (prefix !== 'wisp' || !messageId) return null;
  return { messageId, actions: (actions ? actions.split(',') : []) as NoteAction[] };
}

export async function notify(note: Note): Promise<void> {
  const extra = IS_FIREFOX
    ? // Firefox has no notification buttons: a click on the notification does the first action.
      { message: note.actions.length ? `${note.message}\nClick to ${LABELS[note.actions[0]!].toLowerCase()}.` : note.message }
    : { message: note.message, ...(note.actions.length ? { buttons: note.actions.map((a) => ({ title: LABELS[a] })) } : {}) };
  await browser.notifications.create(noteId(note), {
    type: 'basic',
    iconUrl: browser.runtime.getURL('/icon/128.png'),
    title: note.title,
    ...extra,
  });
}
