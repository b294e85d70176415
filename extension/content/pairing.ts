// The relay's /pair page (relay/http/routes/pair.ts) marks itself with
// <meta name="wisp-pairing" content="BASE">. Once its own script has checked the token, a click on
// its "Pair the Wisp extension" button sends the relay URL and token to the background, which opens
// the options page with them filled in: the user still presses Save there, in the extension's own
// page, so no web page can pair the extension by itself.
import type { ContentRequest } from '../messages.ts';

export function setupPairing(send: (request: ContentRequest) => Promise<unknown>): void {
  const meta = document.head.querySelector('meta[name="wisp-pairing"]');
  let relayUrl: string;
  try {
    const url = new URL(meta?.getAttribute('content') || '/', location.href);
    if (url.origin !== location.origin) return; // a page can only offer itself as the relay
    relayUrl = (url.origin + url.pathname).replace(/\/+$/, '');
  } catch {
    return;
  }
  document.documentElement.setAttribute('data-wisp-extension', 'present');
  document.addEventListener(
    'click',
    (e) => {
      if (!e.isTrusted) return;
      const button = (e.target as Element | null)?.closest?.('#wisp-pair-extension');
      if (!button) return;
      const token = (document.getElementById('wisp-token') as HTMLInputElement | null)?.value.trim();
      if (!token) return;
      e.preventDefault();
      const status = document.getElementById('wisp-extension-status');
      send({ type: 'pair-offer', relayUrl, token }).then(
        () => {
          if (status) status.textContent = 'The Wisp options page is open with these details: press Save there to finish.';
        },
        () => {
          if (status) status.textContent = 'Wisp did not answer: reload this page and try again.';
        },
      );
    },
    true,
  );
}
