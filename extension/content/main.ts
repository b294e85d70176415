// The content script's main part, imported by the loader (loader.ts) the first time a page needs
// it: a field focused, a code arriving, a fill asked for. Form detection, the inline suggestion,
// filling, and codes that wait for their field.
import { extensionRuntime } from './native-browser.ts';
import type { AddressReply, CodeReply, ContentRequest, FillReply, RecentCodeReply } from '../messages.ts';
import type { ContentApi } from './api.ts';
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

export function createContent(): ContentApi {
  const dismissed = new WeakSet<Element>();
  const watched = new WeakSet<Document>();
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

  let askedForCode = false;
  function consider(target: Element | null): void {
    if (!target || !isInput(target) || dismissed.has(target)) return;
    if (otpScore(target) > 0) {
      if (pending) void tryPending();
      else if (!askedForCode) {
        // A code that came before this page did (the site moved on to its "enter the code" page).
        askedForCode = true;
        void send({ type: 'recent-code' }).then((r) => {
          const code = (r as RecentCodeReply | undefined)?.code;
          if (code && !tryFill(code)) waitForField(code);
        }, () => undefined);
      }
    }
    if (!isSignupEmailField(target)) return;
    suggestion.show(target);
  }

  function focus(target: Element | null): void {
    if (!target || suggestion.contains(target)) return;
    if (target.localName === 'iframe' || target.localName === 'frame') {
      watchFrame(target as HTMLIFrameElement);
      return;
    }
    consider(target);
  }

  function pointer(target: Element | null): void {
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

  /** A same-origin frame's document: the listeners the loader keeps on the top document. */
  function watch(doc: Document): void {
    if (watched.has(doc)) return;
    watched.add(doc);
    const path = (e: Event) => (e.composedPath()[0] ?? e.target) as Element | null;
    doc.addEventListener('focusin', (e) => focus(path(e)), true);
    doc.addEventListener('pointerdown', (e) => pointer(path(e)), true);
    doc.addEventListener('contextmenu', (e) => (frameContextTarget = path(e)), true);
    // Focus moving into a nested frame blurs this frame's window.
    doc.defaultView?.addEventListener('blur', () =>
      setTimeout(() => {
        const active = doc.activeElement;
        if (active && (active.localName === 'iframe' || active.localName === 'frame')) watchFrame(active as HTMLIFrameElement);
      }, 0),
    );
  }
  let frameContextTarget: Element | null = null;

  /** A same-origin frame gets the same listeners once focus first enters it. */
  function watchFrame(frame: HTMLIFrameElement): void {
    const doc = sameOriginDocument(frame);
    if (!doc) return;
    watch(doc);
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

  function fillFocused(address: string, contextTarget: Element | null): FillReply {
    const candidates = [deepActiveElement(), contextTarget, frameContextTarget];
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

  function code(value: string): CodeReply {
    const filled = tryFill(value);
    if (filled) stopPending();
    else waitForField(value);
    return { filled, pending: !filled };
  }

  return {
    focus,
    pointer,
    code,
    fillFocused,
    pairing: () => setupPairing(send),
  };
}
