// The content script. Declared in wxt.config.ts (manifest `content_scripts`) rather than with
// defineContentScript, whose runtime context costs more than the whole script on every page load
// (measured: ~1.2 ms of the main thread per page; see README, "Performance").
import { defineUnlistedScript } from 'wxt/utils/define-unlisted-script';
import { startContent } from '../content/main.ts';

export default defineUnlistedScript(() => {
  startContent();
});
