// The content script that runs on every page: the loader (extension/content/loader.ts). It is
// declared in wxt.config.ts (manifest `content_scripts`) rather than with defineContentScript,
// whose runtime costs more than the whole loader on every page load (see README, "Performance").
import { defineUnlistedScript } from 'wxt/utils/define-unlisted-script';
import { startLoader } from '../content/loader.ts';

export default defineUnlistedScript(() => {
  startLoader();
});
