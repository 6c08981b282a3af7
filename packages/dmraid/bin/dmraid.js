#!/usr/bin/env node
// The meta-package's command: the CLI, which finds the handlers installed beside it. Node's compile cache
// (22.1 and later; absent on Node 20) caches only modules loaded after it is on, so the CLI is imported after.
// dist/handlers.js holds the handlers this package pins, in one file (scripts/bundle-handlers.mjs): the CLI's
// loader still scans node_modules and uses a bundled handler only for a package installed at its version.
import module from 'node:module';

module.enableCompileCache?.();
const [{ main }, { bundledHandlers }] = await Promise.all([import('@dmraid/cli'), import('../dist/handlers.js')]);
void main(process.argv.slice(2), { bundled: bundledHandlers });
