#!/usr/bin/env node
// The meta-package's command: the CLI, which finds the handlers installed beside it. Node's compile cache
// (22.1 and later; absent on Node 20) caches only modules loaded after it is on, so the CLI is imported after.
import module from 'node:module';

module.enableCompileCache?.();
const { main } = await import('@dmraid/cli');
void main();
