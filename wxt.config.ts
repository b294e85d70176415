import { defineConfig } from 'wxt';
import preact from '@preact/preset-vite';

// The extension's sources live in extension/; relay/ and test/ sit beside it and are never bundled.
// Every permission below is explained in README.md, "Extension permissions".
export default defineConfig({
  srcDir: 'extension',
  entrypointsDir: 'entrypoints',
  publicDir: 'extension/public',
  modules: ['@wxt-dev/webextension-polyfill'],
  // Explicit imports only: helpers in extension/utils must not become globals.
  imports: false,
  vite: () => ({ plugins: [preact()] }),
  zip: { excludeSources: ['relay/**', 'test/**', 'data/**'] },
  manifest: ({ browser }) => ({
    name: 'Wisp',
    description: 'A throwaway address for every site, and its verification code filled in the moment it arrives.',
    permissions: [
      'storage', // settings, the address cache and the last message seen
      'notifications', // a code or a link has arrived
      'contextMenus', // "Fill temp address" on editable fields
      'clipboardWrite', // copy the code without a click
      ...(browser === 'firefox'
        ? [
            // A Firefox background page has no other way to reach a relay without CORS headers;
            // the content script already runs on these same pages.
            'http://*/*',
            'https://*/*',
          ]
        : [
            'offscreen', // Chrome MV3: the service worker copies through an offscreen document
            'alarms', // Chrome MV3: wake a stopped service worker to reconnect
          ]),
    ],
    // Chrome: the content script's match patterns already grant access to the relay's origin.
    // These are asked for only if the user has restricted the extension's site access, and then
    // only for the relay's origin, from a button on the options page.
    ...(browser === 'firefox' ? {} : { optional_host_permissions: ['http://*/*', 'https://*/*'] }),
    // The content script runs on every web page: detecting sign-up forms needs that. It is a ~2 KB
    // loader (extension/entrypoints/wisp-content.ts) that imports the rest (wisp-main.js) on first
    // use. That file must be web-accessible to be imported; on Chrome only through a per-session
    // URL, so no page can probe for it to learn that Wisp is installed.
    content_scripts: [{ matches: ['http://*/*', 'https://*/*'], js: ['wisp-content.js'], run_at: 'document_idle' }],
    web_accessible_resources: [{ resources: ['wisp-main.js'], matches: ['http://*/*', 'https://*/*'], use_dynamic_url: true }],
    commands: {
      'fill-temp-address': {
        suggested_key: { default: 'Alt+Shift+E' },
        description: 'Fill temp address into the focused field',
      },
    },
    ...(browser === 'firefox'
      ? {
          browser_specific_settings: {
            gecko: { id: 'wisp@wisp.localhost', strict_min_version: '115.0', data_collection_permissions: { required: ['none'] } },
          },
        }
      : { minimum_chrome_version: '116' }),
  }),
});
