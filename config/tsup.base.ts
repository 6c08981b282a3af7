// One tsup configuration for every package: ESM, .d.ts, Node 20, sources in src/.
import { defineConfig, type Options } from 'tsup';

export function packageConfig(overrides: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    dts: true,
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
    ...overrides,
  });
}
