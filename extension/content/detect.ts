// Reading a page's forms: which field wants an email address on a sign-up form, which wants a
// one-time code, and which must never be touched. Runs only when the user focuses a field or a
// code arrives, never while the page loads, so none of this costs anything on pages without use.
import { norm, words } from './words.ts';

export type TextField = HTMLInputElement | HTMLTextAreaElement;


/** Input types that can hold an address typed by a user. */
const TEXTUAL = new Set(['', 'text', 'email']);
/** Input types a one-time code may be typed into. */
const CODE_TYPES = new Set(['', 'text', 'tel', 'number']);

export function isInput(el: unknown): el is HTMLInputElement {
  return !!el && (el as Element).nodeType === 1 && (el as Element).localName === 'input';
}

function inputType(el: HTMLInputElement): string {
  return (el.getAttribute('type') ?? '').trim().toLowerCase();
}

function autocompleteOf(el: Element): string {
  return (el.getAttribute('autocomplete') ?? '').toLowerCase();
}

/** The text of the elements whose ids an aria-labelledby / aria-describedby attribute lists. */
function textOfIds(el: Element, attr: string): string {
  const ids = el.getAttribute(attr);
  if (!ids) return '';
  const root = el.getRootNode() as Document | ShadowRoot;
  let out = '';
  for (const id of ids.split(/\s+/)) {
    const ref = id && root.getElementById?.(id);
    if (ref) out += ' ' + (ref.textContent ?? '');
  }
  return out;
}

function labelText(el: TextField): string {
  let out = '';
  const labels = el.labels;
  if (labels) for (const l of Array.from(labels)) out += ' ' + (l.textContent ?? '');
  if (!out) {
    const wrapping = el.closest('label');
    if (wrapping) out = wrapping.textContent ?? '';
  }
  return out;
}

/** Short text just before the field: `<div>Email</div><input>` pages with no label at all. */
function nearbyText(el: Element): string {
  let node: Element | null = el;
  for (let depth = 0; depth < 3 && node; depth++) {
    let sib = node.previousElementSibling;
    for (let n = 0; sib && n < 2; n++, sib = sib.previousElementSibling) {
      if (sib.querySelector?.('input,select,textarea') || /^(INPUT|SELECT|TEXTAREA)$/i.test(sib.tagName)) break;
      const text = (sib.textContent ?? '').trim();
      if (text && text.length <= 80) return text;
    }
    // A text node right before the field inside the same parent.
    const prev = node.previousSibling;
    if (prev && prev.nodeType === 3 && (prev.textContent ?? '').trim()) return (prev.textContent ?? '').trim().slice(0, 80);
    node = node.parentElement;
    if (node && node.querySelectorAll('input,select,textarea').length > 1) break;
  }
  return '';
}

/** Everything a field says about itself, normalized. */
export function describe(el: TextField): string {
  const parts = [
    el.getAttribute('name'),
    el.id,
    el.getAttribute('placeholder'),
    el.getAttribute('aria-label'),
    el.getAttribute('title'),
    el.getAttribute('data-testid'),
    el.getAttribute('formcontrolname'),
    el.getAttribute('ng-model'),
    el.getAttribute('v-model'),
    labelText(el),
    textOfIds(el, 'aria-labelledby'),
  ];
  let text = norm(parts.filter(Boolean).join(' | '));
  if (!labelText(el) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) text += ' | ' + norm(nearbyText(el));
  return text;
}

/** Rendered, on screen and big enough to be meant for a person (not hidden, off-screen or a honeypot). */
export function isVisible(el: Element): boolean {
  const html = el as HTMLElement;
  if (html.hidden || el.closest('[hidden],[aria-hidden="true"],[inert]')) return false;
  const withCheck = el as Element & { checkVisibility?: (o?: Record<string, boolean>) => boolean };
  if (typeof withCheck.checkVisibility === 'function') {
    if (!withCheck.checkVisibility({ opacityProperty: true, visibilityProperty: true, contentVisibilityAuto: true })) return false;
  }
  const view = el.ownerDocument.defaultView;
  if (view) {
    // Opacity and visibility of the field and its nearest ancestors (checkVisibility covers the
    // rest where the browser has it).
    let node: Element | null = el;
    for (let i = 0; node && i < 6; i++, node = node.parentElement) {
      const style = view.getComputedStyle(node);
      if (style.display === 'none' || (i === 0 && (style.visibility === 'hidden' || style.visibility === 'collapse'))) return false;
      if (Number.parseFloat(style.opacity) < 0.1) return false;
      if (i === 0 && /inset\(\s*50%|circle\(\s*0/.test(style.clipPath)) return false;
    }
  }
  const rect = el.getBoundingClientRect();
  if (rect.width < 6 || rect.height < 6) return false;
  const scrollX = view?.scrollX ?? 0;
  const scrollY = view?.scrollY ?? 0;
  // Off-screen: entirely left of or above the document, or far beyond its right edge.
  if (rect.right + scrollX <= 0 || rect.bottom + scrollY <= 0) return false;
  const docWidth = Math.max(el.ownerDocument.documentElement.scrollWidth, view?.innerWidth ?? 0);
  if (rect.left + scrollX >= docWidth + 100) return false;
  return true;
}

function usable(el: TextField): boolean {
  return !el.disabled && !el.readOnly && isVisible(el);
}

/** The field wants an email address (whatever form it is in); never a password, name, phone or search field. */
export function isEmailField(el: Element): el is HTMLInputElement {
  if (!isInput(el)) return false;
  const type = inputType(el);
  if (!TEXTUAL.has(type)) return false; // password, search, tel, hidden, number, checkbox…
  const ac = autocompleteOf(el);
  if (words().NOT_EMAIL_AUTOCOMPLETE.test(ac)) return false;
  if (el.getAttribute('role') === 'searchbox' || el.getAttribute('role') === 'combobox') return false;
  if (el.closest('[role="search"],search')) return false;
  const desc = describe(el);
  if (words().HONEYPOT.test(desc)) return false;
  if (type === 'email' || /\bemail\b/.test(ac)) return !words().PASSWORD.test(desc) || words().EMAIL.test(desc);
  if (!words().EMAIL.test(desc) || words().EMAIL_NOT.test(desc)) return false;
  // "Email" somewhere in a field that is really something else.
  if (words().PASSWORD.test(desc) || words().SEARCH.test(desc)) return false;
  // "Email verification code" asks for a code, not an address.
  if (words().CODE_WORD.test(desc)) return false;
  return true;
}

/** The form, or the nearest block around a form-less field that holds a button. */
export function scopeOf(el: Element): Element {
  const form = (el as HTMLInputElement).form ?? el.closest('form');
  if (form) return form;
  let node: Element | null = el.parentElement;
  let best: Element = el.parentElement ?? el;
  for (let depth = 0; node && depth < 8; depth++, node = node.parentElement) {
    best = node;
    if (node.matches('[role="form"],dialog,[role="dialog"],fieldset')) return node;
    if (node.querySelector('button,input[type="submit"],[role="button"]')) return node;
    if (node.localName === 'body') break;
  }
  return best;
}

function visibleInputs(scope: Element): HTMLInputElement[] {
  return Array.from(scope.querySelectorAll('input')).filter((i) => usable(i));
}

function buttonsText(scope: Element): string {
  let out = '';
  for (const b of Array.from(scope.querySelectorAll('button,input[type="submit"],input[type="button"],[role="button"]'))) {
    out += ' | ' + (b.textContent ?? '') + ' ' + (b.getAttribute('value') ?? '') + ' ' + (b.getAttribute('aria-label') ?? '');
  }
  return norm(out);
}

function headingsText(scope: Element): string {
  let out = '';
  for (const h of Array.from(scope.querySelectorAll('h1,h2,h3,h4,legend,[role="heading"]'))) out += ' | ' + (h.textContent ?? '');
  return norm(out);
}

function formAttrs(scope: Element): string {
  return norm(
    [scope.id, scope.getAttribute('name'), scope.getAttribute('class'), scope.getAttribute('action'), scope.getAttribute('aria-label'), textOfIds(scope, 'aria-labelledby')]
      .filter(Boolean)
      .join(' | '),
  );
}

/** The heading closest before the scope in document order: `<h1>Create account</h1><form>`. */
function precedingHeading(scope: Element): string {
  let node: Element | null = scope;
  for (let depth = 0; node && depth < 4; depth++, node = node.parentElement) {
    let sib = node.previousElementSibling;
    for (let n = 0; sib && n < 4; n++, sib = sib.previousElementSibling) {
      const h = sib.matches('h1,h2,h3,[role="heading"]') ? sib : sib.querySelector('h1,h2,h3,[role="heading"]');
      if (h) return norm(h.textContent);
    }
  }
  return '';
}

function vote(text: string, weight: number): number {
  if (!text) return 0;
  let score = 0;
  if (words().SIGNUP.test(text)) score += weight;
  if (words().LOGIN.test(text)) score -= weight;
  if (words().RESET.test(text)) score -= weight + 1;
  return score;
}

/**
 * Is this the email field of a sign-up form (or of an email-only form such as a newsletter or a
 * waiting list)? Sign-in and password-reset forms answer no.
 */
export function signupScore(el: Element): number {
  const scope = scopeOf(el);
  const doc = el.ownerDocument;
  let score = 0;
  score += vote(buttonsText(scope), 3);
  score += vote(headingsText(scope) + ' | ' + formAttrs(scope), 2);
  const inputs = visibleInputs(scope);
  const passwords = inputs.filter((i) => inputType(i) === 'password').length;
  if (passwords >= 2) score += 3;
  else if (passwords === 1) score -= 1;
  if (inputs.filter((i) => i !== el && isEmailField(i)).length > 0) score += 2; // a "confirm email" twin
  if (inputs.some((i) => inputType(i) === 'checkbox' && /terms|agree|privacy|conditions|agb|datenschutz|conditions|términos|termos|condizioni|voorwaarden|regulamin|услови|koşul|規約|条款|약관|الشروط/.test(describe(i)))) score += 1;
  if (inputs.some((i) => autocompleteOf(i).includes('new-password'))) score += 2;
  if (inputs.some((i) => autocompleteOf(i).includes('current-password'))) score -= 2;
  // The page around the form: weak, only a tie-breaker.
  const around = precedingHeading(scope) + ' | ' + norm(doc.title) + ' | ' + norm(doc.defaultView?.location?.pathname ?? '');
  score += Math.sign(vote(around, 1));
  return score;
}

export function isSignupEmailField(el: Element): el is HTMLInputElement {
  return isEmailField(el) && usable(el) && signupScore(el) >= 0;
}

/** Other visible, empty (or same-valued) email fields of the same form: "confirm email" twins. */
export function emailTwins(el: HTMLInputElement): HTMLInputElement[] {
  const scope = scopeOf(el);
  return visibleInputs(scope).filter((i) => i !== el && isEmailField(i) && (i.value === '' || i.value === el.value));
}

/** The element focus is really on, inside open shadow roots and same-origin frames. */
export function deepActiveElement(doc: Document = document): Element | null {
  let active: Element | null = doc.activeElement;
  for (let guard = 0; active && guard < 20; guard++) {
    const shadow = (active as HTMLElement).shadowRoot;
    if (shadow?.activeElement) {
      active = shadow.activeElement;
      continue;
    }
    if (active.localName === 'iframe' || active.localName === 'frame') {
      const inner = sameOriginDocument(active as HTMLIFrameElement);
      if (inner?.activeElement && inner.activeElement !== inner.body) {
        active = inner.activeElement;
        continue;
      }
    }
    break;
  }
  return active;
}

export function sameOriginDocument(frame: HTMLIFrameElement): Document | null {
  try {
    return frame.contentDocument;
  } catch {
    return null;
  }
}

/** A field a user may type into: text-like input or textarea, editable, never a password. */
export function isEditableText(el: Element | null): el is TextField {
  if (!el) return false;
  if (el.localName === 'textarea') return !(el as HTMLTextAreaElement).readOnly && !(el as HTMLTextAreaElement).disabled;
  if (!isInput(el)) return false;
  const type = inputType(el);
  if (!['', 'text', 'email', 'search', 'url', 'tel'].includes(type)) return false;
  return !el.readOnly && !el.disabled;
}

// ---------------------------------------------------------------- one-time codes

/** Every input in a document, its open shadow roots and its same-origin frames. */
export function allInputs(doc: Document): HTMLInputElement[] {
  const out: HTMLInputElement[] = [];
  const seen = new Set<Node>();
  const visit = (root: Document | ShadowRoot | Element, depth: number) => {
    if (seen.has(root) || depth > 6) return;
    seen.add(root);
    out.push(...Array.from(root.querySelectorAll('input')));
    for (const frame of Array.from(root.querySelectorAll('iframe,frame'))) {
      const inner = sameOriginDocument(frame as HTMLIFrameElement);
      if (inner?.documentElement) visit(inner, depth + 1);
    }
  };
  visit(doc, 0);
  // Open shadow roots: found by walking the elements, only where light DOM had no code field.
  return out;
}

export function shadowInputs(doc: Document): HTMLInputElement[] {
  const out: HTMLInputElement[] = [];
  const walk = (root: Document | ShadowRoot, depth: number) => {
    if (depth > 8) return;
    const walker = (root.ownerDocument ?? (root as Document)).createTreeWalker(root, 1 /* NodeFilter.SHOW_ELEMENT */);
    for (let n = walker.nextNode() as Element | null; n; n = walker.nextNode() as Element | null) {
      const shadow = (n as HTMLElement).shadowRoot;
      if (shadow) {
        out.push(...Array.from(shadow.querySelectorAll('input')));
        walk(shadow, depth + 1);
      }
    }
  };
  walk(doc, 0);
  return out;
}

/** How much a single input looks like a one-time-code field (0: not at all). */
export function otpScore(el: HTMLInputElement): number {
  const type = inputType(el);
  if (!CODE_TYPES.has(type)) return 0;
  if (el.disabled || el.readOnly) return 0;
  const ac = autocompleteOf(el);
  if (ac.includes('one-time-code')) return 10;
  if (words().NOT_EMAIL_AUTOCOMPLETE.test(ac) || /\bemail\b|\busername\b/.test(ac)) return 0;
  const desc = describe(el);
  if (words().HONEYPOT.test(desc) || words().OTP_NOT.test(desc)) return 0;
  if (words().EMAIL.test(desc) && !words().OTP.test(desc.replace(words().EMAIL, ''))) return 0;
  if (words().PHONE.test(desc) && !words().OTP.test(desc)) return 0;
  if (words().PASSWORD.test(desc) && !/\bone ?time|\botp\b|einmal|code/.test(desc)) return 0;
  let score = 0;
  if (words().OTP.test(desc)) score += 5;
  const mode = (el.getAttribute('inputmode') ?? '').toLowerCase();
  const max = el.maxLength;
  if (mode === 'numeric' || type === 'tel' || type === 'number') score += 1;
  if (max >= 4 && max <= 10) score += 1;
  if (el.getAttribute('pattern')?.match(/\\d|\[0-9\]/)) score += 1;
  return score >= 5 ? score : 0;
}

/** A row of one-character boxes (4 to 10 of them) side by side in one container. */
export function otpBoxes(inputs: HTMLInputElement[]): HTMLInputElement[] | null {
  const singles = inputs.filter((i) => i.maxLength === 1 && CODE_TYPES.has(inputType(i)) && !i.disabled && !i.readOnly && isVisible(i));
  if (singles.length < 4) return null;
  // Group by the nearest common container: parent, or grandparent for boxes each wrapped in a div.
  const groups = new Map<Element, HTMLInputElement[]>();
  for (const i of singles) {
    for (const key of [i.parentElement, i.parentElement?.parentElement]) {
      if (!key) continue;
      const g = groups.get(key) ?? [];
      g.push(i);
      groups.set(key, g);
    }
  }
  let best: HTMLInputElement[] | null = null;
  for (const g of groups.values()) if (g.length >= 4 && g.length <= 10 && (!best || g.length > best.length)) best = g;
  return best;
}

export type OtpTarget = { kind: 'field'; field: HTMLInputElement } | { kind: 'boxes'; boxes: HTMLInputElement[] };

/** Where a code of this length goes on the page, if anywhere. */
export function findOtpTarget(doc: Document, codeLength: number): OtpTarget | null {
  const pick = (inputs: HTMLInputElement[]): OtpTarget | null => {
    const boxes = otpBoxes(inputs);
    if (boxes && boxes.length >= codeLength) return { kind: 'boxes', boxes: boxes.slice(0, codeLength) };
    let best: HTMLInputElement | null = null;
    let bestScore = 0;
    for (const i of inputs) {
      if (i.maxLength === 1) continue;
      if (i.maxLength > 0 && i.maxLength < codeLength) continue;
      const s = otpScore(i);
      if (s > bestScore && isVisible(i)) {
        best = i;
        bestScore = s;
      }
    }
    return best ? { kind: 'field', field: best } : null;
  };
  return pick(allInputs(doc)) ?? pick(shadowInputs(doc));
}
