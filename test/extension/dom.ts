// Helpers for the extension's unit tests under happy-dom, which parses HTML and CSS but does no
// layout: every box would be 0×0 and so look hidden. `installLayout()` gives each element a box
// from its computed style (width, height, and left/top when positioned), defaulting to a visible
// 200×30 box, which is all the visibility rules need.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PAGES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'pages');

function px(value: string | undefined, fallback: number): number {
  const n = Number.parseFloat(value ?? '');
  return Number.isFinite(n) ? n : fallback;
}

export function installLayout(): void {
  const proto = Element.prototype as Element & { __wispLayout?: boolean };
  if (proto.__wispLayout) return;
  proto.__wispLayout = true;
  Element.prototype.getBoundingClientRect = function (this: Element): DOMRect {
    const view = this.ownerDocument.defaultView!;
    const style = view.getComputedStyle(this);
    const positioned = style.position === 'absolute' || style.position === 'fixed';
    const left = positioned ? px(style.left, 10) : 10;
    const top = positioned ? px(style.top, 10) : 10;
    const width = px(style.width, 200);
    const height = px(style.height, 30);
    return { x: left, y: top, left, top, width, height, right: left + width, bottom: top + height, toJSON: () => ({}) } as DOMRect;
  };
}

/** Replaces the document with this HTML (scripts are not run), and sets its URL path. */
export function loadHtml(html: string, pathname = '/'): void {
  const head = /<head[^>]*>([\s\S]*?)<\/head>/i.exec(html)?.[1] ?? '';
  const body = /<body[^>]*>([\s\S]*?)<\/body>/i.exec(html)?.[1] ?? html;
  const strip = (s: string) => s.replace(/<script[\s\S]*?<\/script>/gi, '');
  document.head.innerHTML = strip(head);
  document.body.innerHTML = strip(body);
  window.history.replaceState(null, '', pathname);
}

export function loadPage(file: string): void {
  loadHtml(fs.readFileSync(path.join(PAGES, file), 'utf8'), `/${file}`);
}

export function $(selector: string): HTMLInputElement {
  const el = document.querySelector(selector);
  if (!el) throw new Error(`no ${selector}`);
  return el as HTMLInputElement;
}

/**
 * A stand-in for React's value tracking on one input: the instance's `value` property remembers
 * what page code set, and an input event whose value equals the remembered one is ignored.
 * Returns what "the framework" saw.
 */
export function reactLike(input: HTMLInputElement): { seen: string[] } {
  const desc = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(input) as object, 'value')!;
  let remembered = desc.get!.call(input) as string;
  const seen: string[] = [];
  Object.defineProperty(input, 'value', {
    configurable: true,
    get() {
      return desc.get!.call(this) as string;
    },
    set(v: string) {
      remembered = String(v);
      desc.set!.call(this, v);
    },
  });
  input.addEventListener('input', () => {
    const actual = desc.get!.call(input) as string;
    if (actual === remembered) return;
    remembered = actual;
    seen.push(actual);
  });
  return { seen };
}
