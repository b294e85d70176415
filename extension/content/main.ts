// The content script: cheap at load (a few event listeners, no DOM scan), work only on focus, on
// a right-click or when the background brings a code.
import { extensionRuntime } from './native-browser.ts';
import type { AddressReply, CodeReply, ContentCommand, ContentRequest, FillReply, WhereReply } from '../messages.ts';
import { deepActiveElement, emailTwins, findOtpTarget, isEditableText, isSignupEmailField, otpScore, isInput, sameOriginDocument } from './detect.ts';
import type { TextField } from './detect.ts';
import { fillOtp, setValue } from './fill.ts';
import { Suggestion } from './suggest.ts';
import { setupPairing } from './pairing.ts';

/** How long a code waits for its field to appear. */
const PENDING_MS = 3 * 60_000;

function send(request: ContentRequest): Promise<unknown> {
  return extensionRuntime().sendMessage(request);
}

export function startContent(): void {
  const dismissed = new WeakSet<Element>();
  const watched = new WeakSet<Document>();
  let contextTarget: Element | null = null;
  let pending: { code: string; until: number; observer: MutationObserver | null } | null = null;

  const suggestion = new Suggestion({
    onFill: (field) => void fillAddress(field),
    onDismiss: (field) => dismissed.add(field),
    onFocusOut: (e) => onFocusOut(e),
  });

  async function fillAddress(field: HTMLInputElement): Promise<void> {
    suggestion.busy(true);
    suggestion.say('');
    let reply: AddressReply;
    try {
      reply = (await send({ type: 'address' })) as AddressReply;
    } catch {
      reply = { ok: false, reason: 'failed', message: 'Wisp is not reachable: reload the page.' };
    }
    suggestion.busy(false);
    if (!reply?.ok) {
      if (reply?.reason === 'unpaired') {
        suggestion.say('Pair Wisp with your relay first.');
        void send({ type: 'open-options' });
      } else suggestion.say(reply?.message ?? 'Could not make an address.');
      return;
    }
    const twins = emailTwins(field);
    setValue(field, reply.address);
    for (const twin of twins) setValue(twin, reply.address);
    suggestion.hide();
    field.focus({ preventScroll: true });
  }

  function consider(target: Element | null): void {
    if (!target || !isInput(target) || dismissed.has(target)) return;
    if (pending && otpScore(target) > 0) void tryPending();
    if (!isSignupEmailField(target)) return;
    suggestion.show(target);
  }

  function onFocusIn(e: Event): void {
    listen();
    const target = (e.composedPath()[0] ?? e.target) as Element | null;
    if (suggestion.contains(target)) return;
    if (target && (target.localName === 'iframe' || target.localName === 'frame')) {
      watchFrame(target as HTMLIFrameElement);
      return;
    }
    consider(target);
  }

  function onPointerDown(e: Event): void {
    listen();
    const target = (e.composedPath()[0] ?? e.target) as Element | null;
    if (target && target === deepActiveElement(target.ownerDocument) && !suggestion.contains(target)) consider(target);
  }

  function onFocusOut(e: FocusEvent): void {
    if (!suggestion.visible) return;
    const next = e.relatedTarget as Element | null;
    if (suggestion.contains(next) || next === suggestion.field) return;
    const from = (e.composedPath()[0] ?? e.target) as Element | null;
    if (from !== suggestion.field && !suggestion.contains(from)) return;
    // Focus left both the field and the suggestion (a click elsewhere, Tab onwards).
    setTimeout(() => {
      const active = deepActiveElement();
      if (active !== suggestion.field && !suggestion.contains(active) && !suggestion.contains(suggestion.field?.ownerDocument.activeElement ?? null)) suggestion.hide();
    }, 0);
  }

  function watch(doc: Document): void {
    if (watched.has(doc)) return;
    watched.add(doc);
    doc.addEventListener('focusin', onFocusIn, true);
    // A field focused before this script ran (autofocus) fires no focusin: a click on it counts.
    doc.addEventListener('pointerdown', onPointerDown, true);
    doc.addEventListener(
      'contextmenu',
      (e) => {
        listen();
        contextTarget = (e.composedPath()[0] ?? e.target) as Element;
      },
      true,
    );
  }

  /** Focus moving into a frame blurs this window and leaves the frame as the active element. */
  const framesWatched = new WeakSet<Document>();
  function watchFrames(doc: Document): void {
    if (framesWatched.has(doc)) return;
    framesWatched.add(doc);
    doc.defaultView?.addEventListener('blur', () =>
      setTimeout(() => {
        const active = doc.activeElement;
        if (active && (active.localName === 'iframe' || active.localName === 'frame')) watchFrame(active as HTMLIFrameElement);
      }, 0),
    );
  }

  /** A same-origin frame gets the same listeners once focus first enters it. */
  function watchFrame(frame: HTMLIFrameElement): void {
    const doc = sameOriginDocument(frame);
    if (!doc) return;
    watch(doc);
    watchFrames(doc);
    consider(deepActiveElement(doc));
  }

  // ------------------------------------------------------------ codes

  function tryFill(code: string): boolean {
    const target = findOtpTarget(document, code.length);
    return !!target && fillOtp(target, code);
  }

  async function tryPending(): Promise<void> {
    if (!pending) return;
    if (Date.now() > pending.until || tryFill(pending.code)) stopPending();
  }

  function stopPending(): void {
    pending?.observer?.disconnect();
    pending = null;
  }

  /**
   * The field is not there yet: one MutationObserver, for 3 minutes at most, that looks only at
   * changes that can bring a field (an input added, or a container of inputs shown) and then
   * checks the page at most every 200 ms.
   */
  function waitForField(code: string): void {
    stopPending();
    let scheduled = false;
    const relevant = (r: MutationRecord): boolean => {
      if (r.type === 'attributes') {
        const t = r.target as Element;
        return t.localName === 'input' || t.getElementsByTagName('input').length > 0;
      }
      for (const n of Array.from(r.addedNodes)) {
        if (n.nodeType !== 1) continue;
        const el = n as Element;
        if (el.localName === 'input' || (el as HTMLElement).shadowRoot || el.localName === 'iframe' || el.getElementsByTagName('input').length > 0) return true;
      }
      return false;
    };
    const observer = new MutationObserver((records) => {
      if (scheduled || !records.some(relevant)) return;
      scheduled = true;
      setTimeout(() => {
        scheduled = false;
        void tryPending();
      }, 200);
    });
    pending = { code, until: Date.now() + PENDING_MS, observer };
    observer.observe(document.documentElement, { childList: true, subtree: true, attributes: true, attributeFilter: ['style', 'class', 'hidden'] });
    setTimeout(() => {
      if (pending?.code === code) stopPending();
    }, PENDING_MS);
  }

  // ------------------------------------------------------------ filling on command

  function fillFocused(address: string): FillReply {
    const candidates = [deepActiveElement(), contextTarget];
    for (const el of candidates) {
      if (!isEditableText(el)) continue;
      const field = el as TextField;
      setValue(field, address);
      if (isInput(field) && isSignupEmailField(field)) for (const twin of emailTwins(field)) setValue(twin, address);
      suggestion.hide();
      return { filled: true };
    }
    return { filled: false, reason: 'No editable field is focused.' };
  }

  const onMessage = (raw: unknown, _sender: unknown, sendResponse: (response?: unknown) => void): undefined => {
    const msg = raw as ContentCommand;
    if (msg?.type === 'where') {
      sendResponse({ url: location.href } satisfies WhereReply);
    } else if (msg?.type === 'code') {
      const filled = tryFill(msg.code);
      if (!filled) waitForField(msg.code);
      else stopPending();
      sendResponse({ filled, pending: !filled } satisfies CodeReply);
    } else if (msg?.type === 'fill-focused') {
      sendResponse(fillFocused(msg.address));
    }
    return undefined;
  };

  /** Listening to the background: from the first interaction, or once the page is idle (≤ 2 s). */
  let listening = false;
  function listen(): void {
    if (listening) return;
    listening = true;
    extensionRuntime().onMessage.addListener(onMessage);
    watchFrames(document);
  }

  // At load: three DOM listeners and nothing else. Whatever is touched here costs on every page
  // the user opens (the first use of an API in the content script's world is the expensive one).
  watch(document);
  const idle = (globalThis as { requestIdleCallback?: (cb: () => void, o: { timeout: number }) => number }).requestIdleCallback;
  if (idle) idle(listen, { timeout: 2000 });
  else setTimeout(listen, 200);
  // The relay's pairing page (relay/http/routes/pair.ts) lives at …/pair.
  if (location.pathname.endsWith('/pair') && document.querySelector('meta[name="wisp-pairing"]')) setupPairing(send);
}
