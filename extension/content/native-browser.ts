// The browser's own extension namespace, without webextension-polyfill: `browser` in Firefox,
// `chrome` in Chromium (whose MV3 APIs return promises). Looked up on first use only: the first
// touch of the extension bindings is the most expensive thing a content script does, so it is
// kept out of page load.

export type Listener = (message: unknown, sender: unknown, sendResponse: (response?: unknown) => void) => boolean | undefined;

export interface NativeRuntime {
  id?: string;
  sendMessage(message: unknown): Promise<unknown>;
  getURL(path: string): string;
  onMessage: { addListener(cb: Listener): void; removeListener(cb: Listener): void };
}

interface Namespaces {
  browser?: { runtime?: NativeRuntime };
  chrome?: { runtime?: NativeRuntime };
}

let runtime: NativeRuntime | null = null;

export function extensionRuntime(): NativeRuntime {
  if (!runtime) {
    const g = globalThis as unknown as Namespaces;
    runtime = (g.browser?.runtime ?? g.chrome?.runtime) as NativeRuntime;
  }
  return runtime;
}
