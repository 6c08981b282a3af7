#!/usr/bin/env node
// A tiny entry: Node's compile cache (22.1 and later; Node 20's module has no enableCompileCache) caches only
// modules loaded after it is on, so the CLI itself is imported dynamically, after the call.
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { main } = await import('./process.js');
void main();
