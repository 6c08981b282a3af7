// Standalone: no workspace source conditions, so @dmraid/core and @dmraid/testkit resolve to their built
// dist/ exactly as they would for a vendor who installed them.
import { defineConfig } from 'vitest/config';
export default defineConfig({
  test: { name: 'dmraid-format-jmicron', root: import.meta.dirname, include: ['test/**/*.test.ts'], environment: 'node', testTimeout: 60_000, hookTimeout: 120_000 },
});
