import { defineBackground } from 'wxt/utils/define-background';
import { startBackground } from '../background/main.ts';

// Chrome: an MV3 service worker. Firefox: a persistent MV2 background page, because Firefox ends an
// event page after its idle timeout even while a WebSocket is open, which would stop live codes.
export default defineBackground({
  persistent: true,
  main() {
    startBackground();
  },
});
