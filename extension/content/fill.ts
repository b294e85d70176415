// Filling fields so the page's own scripts see the change. React, Vue and Angular keep their own
// idea of a field's value: React replaces the `value` property on the element with a tracker, so
// assigning through it would be swallowed. Setting the value through the prototype's native
// setter and then dispatching `input` and `change` makes every framework read the new value.
import type { OtpTarget, TextField } from './detect.ts';

/** The native `value` setter of the element's own class (HTMLInputElement or HTMLTextAreaElement of its realm). */
function nativeSetter(el: TextField): ((v: string) => void) | null {
  for (let proto = Object.getPrototypeOf(el) as object | null; proto; proto = Object.getPrototypeOf(proto) as object | null) {
    const desc = Object.getOwnPropertyDescriptor(proto, 'value');
    if (desc?.set) return desc.set as (v: string) => void;
  }
  return null;
}

function fire(el: Element, type: string, data?: string): void {
  const view = el.ownerDocument.defaultView as (Window & typeof globalThis) | null;
  const InputEv = view?.InputEvent ?? globalThis.InputEvent;
  const Ev = view?.Event ?? globalThis.Event;
  const event =
    type === 'input' && typeof InputEv === 'function'
      ? new InputEv('input', { bubbles: true, composed: true, inputType: 'insertReplacementText', data: data ?? null })
      : new Ev(type, { bubbles: true, composed: type !== 'change' });
  el.dispatchEvent(event);
}

/** Sets the value as typing would: native setter, then input and change events. */
export function setValue(el: TextField, value: string): void {
  const setter = nativeSetter(el);
  if (setter) setter.call(el, value);
  else el.value = value;
  fire(el, 'input', value);
  fire(el, 'change');
}

/** Fills a one-time code: one field, or one character per box. */
export function fillOtp(target: OtpTarget, code: string): boolean {
  if (target.kind === 'field') {
    const field = target.field;
    if (field.value === code) return true;
    const wasFocused = field.ownerDocument.activeElement === field;
    if (!wasFocused) field.focus({ preventScroll: true });
    setValue(field, code);
    return field.value === code || field.value.replace(/\D/g, '') === code.replace(/\D/g, '');
  }
  const chars = Array.from(code);
  target.boxes.forEach((box, i) => {
    const ch = chars[i] ?? '';
    box.focus({ preventScroll: true });
    const opts = { key: ch, bubbles: true, composed: true };
    box.dispatchEvent(new KeyboardEvent('keydown', opts));
    setValue(box, ch);
    box.dispatchEvent(new KeyboardEvent('keyup', opts));
  });
  return target.boxes.every((b, i) => b.value === (chars[i] ?? ''));
}
