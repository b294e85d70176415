// The contract between the content script's two halves: the loader that runs on every page
// (loader.ts, a few listeners) and the main part it imports on first use (main.ts).
import type { CodeReply, FillReply } from '../messages.ts';

/** Where the main part puts its API, in the content script's own (isolated) global scope. */
export const CONTENT_API_KEY = '__wispContent';

/** The main part's file in the build, imported by the loader (web-accessible, dynamic URL on Chrome). */
export const MAIN_FILE = '/wisp-main.js';

export interface ContentApi {
  /** Focus went to this element (an input, or a frame whose document we may read). */
  focus(target: Element): void;
  /** A click on an element that already had focus (autofocus fires no focusin). */
  pointer(target: Element): void;
  code(code: string): CodeReply;
  /** Fill the focused field, or the one right-clicked last. */
  fillFocused(address: string, contextTarget: Element | null): FillReply;
  /** The relay's /pair page. */
  pairing(): void;
}
