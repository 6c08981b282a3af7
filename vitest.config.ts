import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import SummaryReporter from './config/vitest-summary.js';

export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'tools/test/vitest.config.ts', 'examples/*/vitest.config.ts'],
    reporters: ['default', new SummaryReporter()],
    // Many tests wait on child processes (the reference dmraid, the VM, NBD clients) rather than compute:
    // at least two files at a time even on a 2-core machine (vitest's default there is one).
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
