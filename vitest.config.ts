import { defineConfig } from 'vitest/config';
import SummaryReporter from './tools/vitest-summary.js';

export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'tools/test/vitest.config.ts', 'examples/*/vitest.config.ts'],
    reporters: ['default', new SummaryReporter()],
  },
});
