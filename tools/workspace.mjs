// The workspace's package folders, as the root package.json's "workspaces" names them (the `dir/*` and plain
// `dir` forms it uses), and which of them are published (not private): tools/package-meta.mjs writes the shared
// metadata into them, tools/check-packages.mjs checks them as packed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const manifestOf = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

/** Every workspace package's folder under `root`, in the order of the globs, each glob's folders by name. */
export function workspaceDirs(root) {
  const dirs = [];
  for (const pattern of manifestOf(root).workspaces ?? []) {
    if (pattern.endsWith('/*')) {
      const parent = join(root, pattern.slice(0, -2));
      for (const name of readdirSync(parent).sort()) if (existsSync(join(parent, name, 'package.json'))) dirs.push(join(parent, name));
    } else if (existsSync(join(root, pattern, 'package.json'))) dirs.push(join(root, pattern));
  }
  return dirs;
}

/** The workspace packages that are published: those not marked private. */
export const publishableDirs = (root) => workspaceDirs(root).filter((dir) => !manifestOf(dir).private);
