// The content script's main part, imported by the loader on first use. It runs in the same
// isolated world as the loader and hands it its API through that world's global scope, which the
// page cannot see.
import { defineUnlistedScript } from 'wxt/utils/define-unlisted-script';
import { CONTENT_API_KEY } from '../content/api.ts';
import { createContent } from '../content/main.ts';

export default defineUnlistedScript(() => {
  const scope = globalThis as unknown as Record<string, unknown>;
  scope[CONTENT_API_KEY] ??= createContent();
});
