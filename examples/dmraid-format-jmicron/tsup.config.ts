import { defineConfig } from 'tsup';

// ESM with .d.ts for Node 20 and later; ./testbed is a second entry (sample sets for tests), kept out of the main one.
export default defineConfig({
  entry: ['src/index.ts', 'src/testbed.ts'],
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  dts: true,
  sourcemap: true,
  clean: true,
});
