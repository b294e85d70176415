// The part of the content script that runs on every page, so it does almost nothing: three DOM
// listeners at load, and the extension's message listener once the page is idle. Everything else
// (form detection, the suggestion, filling) is in main.ts, imported the first time a page needs
// it: a text field or frame gets focus, a code arrives, a fill is asked for. Pages that never get
// there never pay for it (see README, "Performance").
import { CONTENT_API_KEY, MAIN_FILE } from './api.ts';
import type { ContentApi } from './api.ts';
import type { ContentCommand, WhereReply } from '../messages.ts';
import { extensionRuntime } from './native-browser.ts';

/** Input types worth loading the main part for (an email or a code may go there). */
const TEXTUAL = /^(|text|email|tel|number)$/;

export function startLoader(): void {
  let loading: Promise<ContentApi> | null = null;
  let contextTarget: Element | null = null;

  const load = (): Promise<ContentApi> =>
    (loading ??= import(/* @vite-ignore */ extensionRuntime().getURL(MAIN_FILE)).then(
      () => (globalThis as unknown as Record<string, ContentApi>)[CONTENT_API_KEY]!,
    ));

  const target = (e: Event) => (e.composedPath()[0] ?? e.target) as Element | null;
  const wanted = (el: Element | null): el is Element =>
    !!el && (el.localName === 'iframe' || el.localName === 'frame' || (el.localName === 'input' && TEXTUAL.test((el.getAttribute('type') ?? '').toLowerCase())));

  // At load: this one listener and an idle callback, nothing else (each DOM API a content script
  // touches first costs on every page; see README, "Performance").
  document.addEventListener(
    'focusin',
    (e) => {
      listen();
      const el = target(e);
      if (wanted(el)) void load().then((api) => api.focus(el));
    },
    true,
  );

  // Once the page is idle (or at the first focus): the background's messages, right-clicks, a
  // field focused before this script ran, frames, the relay's pairing page.
  let listening = false;
  function listen(): void {
    if (listening) return;
    listening = true;
    extensionRuntime().onMessage.addListener((raw, _sender, sendResponse) => {
      const msg = raw as ContentCommand;
      if (msg?.type === 'where') {
        sendResponse({ url: location.href } satisfies WhereReply);
        return undefined;
      }
      if (msg?.type !== 'code' && msg?.type !== 'fill-focused') return undefined;
      void load().then(
        (api) => sendResponse(msg.type === 'code' ? api.code(msg.code) : api.fillFocused(msg.address, contextTarget)),
        () => sendResponse(undefined),
      );
      return true; // answered asynchronously
    });
    document.addEventListener('contextmenu', (e) => (contextTarget = target(e)), true);
    // A field focused before this script ran (autofocus) fired its focusin unseen: a click on it
    // counts, and so does finding it focused now.
    document.addEventListener(
      'pointerdown',
      (e) => {
        const el = target(e);
        if (wanted(el) && el === document.activeElement) void load().then((api) => api.pointer(el));
      },
      true,
    );
    const active = document.activeElement;
    if (wanted(active) && document.hasFocus()) void load().then((api) => api.focus(active));
    // Focus moving into a frame blurs this window and leaves the frame as the active element.
    window.addEventListener('blur', () =>
      setTimeout(() => {
        const frame = document.activeElement;
        if (frame && (frame.localName === 'iframe' || frame.localName === 'frame')) void load().then((api) => api.focus(frame));
      }, 0),
    );
    // The relay's pairing page (relay/http/routes/pair.ts) lives at …/pair.
    if (location.pathname.endsWith('/pair') && document.querySelector('meta[name="wisp-pairing"]')) void load().then((api) => api.pairing());
  }
  const idle = (globalThis as { requestIdleCallback?: (cb: () => void, o: { timeout: number }) => number }).requestIdleCallback;
  if (idle) idle(listen, { timeout: 2000 });
  else setTimeout(listen, 200);
}
