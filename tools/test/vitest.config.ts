// The repository's own tooling: new-format, packing and installing, releases, published exports.
// These tests run built packages (dist/) and npm; the root `npm test` builds everything first.
import { mergeConfig } from 'vitest/config';
import base from '../../vitest.shared.js';
export default mergeConfig(base, { test: { name: 'tools', root: import.meta.dirname, include: ['*.test.ts'], testTimeout: 300_000 } });
