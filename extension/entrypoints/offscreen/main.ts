// Chrome MV3 only: the service worker has no DOM, so it copies through this offscreen document.
// navigator.clipboard needs a focused document; execCommand('copy') on a textarea does not.
import { browser } from 'wxt/browser';
import type { OffscreenRequest } from '../../messages.ts';

browser.runtime.onMessage.addListener((raw: unknown) => {
  const msg = raw as OffscreenRequest | undefined;
  if (msg?.target !== 'offscreen' || msg.type !== 'copy') return undefined;
  const area = document.getElementById('clip') as HTMLTextAreaElement;
  area.value = msg.text;
  area.select();
  const ok = document.execCommand('copy');
  area.value = '';
  return Promise.resolve(ok);
});
