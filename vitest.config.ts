import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'relay/**/*.test.ts', 'shared/**/*.test.ts'],
    exclude: ['node_modules/**', '.output/**', 'test/bench/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
