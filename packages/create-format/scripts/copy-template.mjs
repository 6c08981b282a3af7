#!/usr/bin/env node
// Part of the build: format-template's files into template/, which the tarball ships, so the generator has
// one source of truth (packages/format-template) and a published create-format needs nothing else.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';

const here = new URL('..', import.meta.url).pathname;
const from = join(here, '..', 'format-template');
const to = join(here, 'template');
await fs.rm(to, { recursive: true, force: true });
await fs.mkdir(to);
// The template's package.json ships as template-package.json: a nested package.json with "exports" in a tarball
// is ignored by Node yet read by some bundlers (publint refuses it), and it is data here, not a package.
await fs.copyFile(join(from, 'package.json'), join(to, 'template-package.json'));
for (const entry of ['tsconfig.json', 'tsup.config.ts', 'vitest.config.ts', 'src', 'test']) {
  await fs.cp(join(from, entry), join(to, entry), { recursive: true });
}
