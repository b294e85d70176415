// The inline suggestion beside a sign-up form's email field: a host element with an open shadow
// root holding the "Fill temp address" button and a dismiss button.
//
// Page CSS cannot reach into the shadow root, and the host resets every inherited property with
// `all: initial !important`. Styles are set through CSSOM (element.style), which a page's
// Content-Security-Policy does not block, unlike a <style> element.
//
// Keyboard: ArrowDown in the field moves to the button, Escape closes, Tab moves between the two
// buttons; Enter or Space fills.

type Styles = Record<string, string>;

function css(el: HTMLElement, styles: Styles): void {
  for (const [k, v] of Object.entries(styles)) el.style.setProperty(k, v, 'important');
}

const BUTTON: Styles = {
  all: 'initial',
  'box-sizing': 'border-box',
  cursor: 'pointer',
  'font-family': 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  'font-size': '13px',
  'line-height': '18px',
  'border-radius': '6px',
  padding: '5px 10px',
  margin: '0',
  display: 'inline-block',
  'white-space': 'nowrap',
};

/** The element's box in the top window's viewport, through same-origin frames. */
function rectInTopWindow(el: Element): { left: number; top: number; bottom: number } {
  const r = el.getBoundingClientRect();
  let left = r.left;
  let top = r.top;
  let view = el.ownerDocument.defaultView;
  for (let guard = 0; view && view !== window && guard < 10; guard++) {
    const frame = view.frameElement as HTMLElement | null;
    if (!frame) break;
    const fr = frame.getBoundingClientRect();
    left += fr.left + frame.clientLeft;
    top += fr.top + frame.clientTop;
    view = frame.ownerDocument.defaultView;
  }
  return { left, top, bottom: top + r.height };
}

export interface SuggestionHandlers {
  onFill(field: HTMLInputElement): void;
  onDismiss(field: HTMLInputElement): void;
  /** Focus moved while the suggestion is shown (listened to only then). */
  onFocusOut(e: FocusEvent): void;
}

export class Suggestion {
  host: HTMLElement | null = null;
  field: HTMLInputElement | null = null;
  private fillButton: HTMLButtonElement | null = null;
  private note: HTMLElement | null = null;
  private cleanup: (() => void)[] = [];

  constructor(private handlers: SuggestionHandlers) {}

  get visible(): boolean {
    return !!this.host?.isConnected;
  }

  /** Whether the node is part of the suggestion (for focus handling). */
  contains(node: EventTarget | null): boolean {
    return !!node && !!this.host && (node === this.host || this.host.shadowRoot?.contains(node as Node) === true);
  }

  show(field: HTMLInputElement): void {
    if (this.field === field && this.visible) return;
    this.hide();
    this.field = field;
    // Always in the top document: a field's own frame may be too small to show it.
    const doc = document;
    const host = doc.createElement('wisp-suggestion');
    css(host, { all: 'initial', position: 'absolute', 'z-index': '2147483647', top: '0', left: '0', display: 'block', contain: 'layout style' });
    const shadow = host.attachShadow({ mode: 'open' });
    const box = doc.createElement('div');
    css(box, {
      display: 'flex',
      'align-items': 'center',
      gap: '6px',
      padding: '5px',
      background: '#ffffff',
      color: '#1f2328',
      border: '1px solid #c7ccd1',
      'border-radius': '8px',
      'box-shadow': '0 4px 14px rgba(0,0,0,.18)',
      'font-family': 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
      'font-size': '13px',
      'line-height': '18px',
    });
    box.setAttribute('role', 'group');
    box.setAttribute('aria-label', 'Wisp');

    const fill = doc.createElement('button');
    fill.type = 'button';
    fill.textContent = 'Fill temp address';
    css(fill, { ...BUTTON, background: '#5b3cc4', color: '#ffffff', border: '1px solid #4a2fa8', 'font-weight': '600' });

    const close = doc.createElement('button');
    close.type = 'button';
    close.textContent = '×';
    close.setAttribute('aria-label', 'Dismiss');
    close.title = 'Dismiss';
    css(close, { ...BUTTON, background: 'transparent', color: '#57606a', border: '1px solid transparent', padding: '5px 8px' });

    const note = doc.createElement('span');
    note.setAttribute('role', 'status');
    css(note, { 'font-size': '12px', color: '#57606a', 'max-width': '260px' });

    for (const b of [fill, close]) {
      // Clicking must not take focus from the field (the page may validate on blur).
      b.addEventListener('mousedown', (e) => e.preventDefault());
      b.addEventListener('focus', () => css(b, { outline: '2px solid #0969da', 'outline-offset': '1px' }));
      b.addEventListener('blur', () => b.style.removeProperty('outline'));
      b.addEventListener('keydown', (e) => this.onKey(e));
    }
    fill.addEventListener('click', (e) => {
      e.stopPropagation();
      // The shadow root is open, so page scripts can reach this button: only a person's click
      // (or Enter / Space on it) makes or reveals an address.
      if (!e.isTrusted) return;
      if (this.field) this.handlers.onFill(this.field);
    });
    close.addEventListener('click', (e) => {
      e.stopPropagation();
      const f = this.field;
      this.hide();
      if (f) {
        this.handlers.onDismiss(f);
        f.focus({ preventScroll: true });
      }
    });

    box.append(fill, close, note);
    shadow.append(box);
    doc.documentElement.append(host);
    this.host = host;
    this.fillButton = fill;
    this.note = note;
    this.place();

    const reposition = () => this.place();
    const onFieldKey = (e: KeyboardEvent) => this.onKey(e);
    const views = new Set([window, field.ownerDocument.defaultView].filter((v): v is Window & typeof globalThis => !!v));
    for (const view of views) {
      view.addEventListener('scroll', reposition, { capture: true, passive: true });
      view.addEventListener('resize', reposition, { passive: true });
    }
    field.addEventListener('keydown', onFieldKey);
    const onFocusOut = (e: FocusEvent) => this.handlers.onFocusOut(e);
    const docs = new Set([document, field.ownerDocument]);
    for (const d of docs) d.addEventListener('focusout', onFocusOut, true);
    this.cleanup.push(() => {
      for (const d of docs) d.removeEventListener('focusout', onFocusOut, true);
      for (const view of views) {
        view.removeEventListener('scroll', reposition, { capture: true });
        view.removeEventListener('resize', reposition);
      }
      field.removeEventListener('keydown', onFieldKey);
    });
  }

  hide(): void {
    for (const fn of this.cleanup.splice(0)) fn();
    this.host?.remove();
    this.host = null;
    this.field = null;
    this.fillButton = null;
    this.note = null;
  }

  /** A short line beside the button: "Making an address…", an error. */
  say(text: string): void {
    if (this.note) this.note.textContent = text;
  }

  busy(on: boolean): void {
    if (!this.fillButton) return;
    this.fillButton.disabled = on;
    css(this.fillButton, { opacity: on ? '0.6' : '1', cursor: on ? 'progress' : 'pointer' });
  }

  focusButton(): void {
    this.fillButton?.focus();
  }

  private onKey(e: KeyboardEvent): void {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      const f = this.field;
      this.hide();
      if (f) {
        this.handlers.onDismiss(f);
        f.focus({ preventScroll: true });
      }
    } else if (e.key === 'ArrowDown' && e.target === this.field && !e.altKey) {
      e.preventDefault();
      this.focusButton();
    } else if (e.key === 'ArrowUp' && e.target !== this.field) {
      e.preventDefault();
      this.field?.focus({ preventScroll: true });
    }
  }

  /** Below the field, left-aligned, in document coordinates; flips above near the viewport's bottom. */
  place(): void {
    const { host, field } = this;
    if (!host || !field) return;
    const r = rectInTopWindow(field);
    const scrollX = window.scrollX;
    const scrollY = window.scrollY;
    const height = host.offsetHeight || 36;
    const below = r.bottom + 4;
    const viewportHeight = window.innerHeight;
    const top = viewportHeight && below + height > viewportHeight && r.top - height - 4 > 0 ? r.top - height - 4 : below;
    // The root element may be positioned or offset; measure where (0,0) of the host really lands.
    host.style.setProperty('top', '0px', 'important');
    host.style.setProperty('left', '0px', 'important');
    const origin = host.getBoundingClientRect();
    const originX = origin.left + scrollX;
    const originY = origin.top + scrollY;
    host.style.setProperty('top', `${Math.round(top + scrollY - originY)}px`, 'important');
    host.style.setProperty('left', `${Math.round(r.left + scrollX - originX)}px`, 'important');
  }
}
