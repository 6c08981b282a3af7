import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'dmraid-format-jmicron',
    root: import.meta.dirname,
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // The format tester fuzzes 10,000 images and runs the dmraid CLI in-process: seconds, not milliseconds.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
