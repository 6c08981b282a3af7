#!/usr/bin/env node
'use strict';
// The `dmraid` command: dist/dmraid.cjs (the CLI with the handlers this package pins, one CommonJS file: see
// scripts/bundle.mjs for why) loaded through a compile cache (compile-cache.cjs).
const { join } = require('node:path');
const { requireCached } = require('./compile-cache.cjs');

void requireCached(join(__dirname, '..', 'dist', 'dmraid.cjs')).run(process.argv.slice(2));
