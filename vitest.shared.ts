// The base vitest configuration every package extends: tests run against the TypeScript sources
// (the private "@dmraid/source" export condition), not against dist/.
import { defineConfig } from 'vitest/config';

const conditions = ['@dmraid/source', 'node', 'import', 'module', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@dmraid/source'] } },
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
