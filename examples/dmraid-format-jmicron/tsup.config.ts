import { defineConfig } from 'tsup';

// ESM with .d.ts for Node 20.19 and later (22, 24); ./testbed is a second entry (sample sets for tests), kept out of the main one.
export default defineConfig({
  entry: ['src/index.ts', 'src/testbed.ts'],
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  dts: true,
  sourcemap: true,
  clean: true,
});
