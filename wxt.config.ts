import { defineConfig } from 'wxt';
import preact from '@preact/preset-vite';

// The extension's sources live in extension/; relay/ and test/ sit beside it and are never bundled.
export default defineConfig({
  srcDir: 'extension',
  entrypointsDir: 'entrypoints',
  publicDir: 'extension/public',
  modules: ['@wxt-dev/webextension-polyfill'],
  vite: () => ({ plugins: [preact()] }),
  zip: { excludeSources: ['relay/**', 'test/**', 'data/**'] },
  manifest: ({ browser }) => ({
    name: 'Wisp',
    description: 'A throwaway address for every site, and its verification code filled in the moment it arrives.',
    permissions: ['storage'],
    ...(browser === 'firefox'
      ? { browser_specific_settings: { gecko: { id: 'wisp@wisp.localhost', data_collection_permissions: { required: ['none'] } } } }
      : {}),
  }),
});
