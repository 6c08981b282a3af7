// The import-graph check (tools/import-graph.mjs with config/import-graph.mjs) on small trees of the repository's
// shape: a clean one passes; a circle, an upward arrow, a format importing a format, a source importing testkit
// each fail with their rule's name; a baseline forgives exactly the violations it lists.
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDir } from '@dmraid/testkit';
import { repoRoot, sh } from './helpers.js';

const script = join(repoRoot, 'tools', 'import-graph.mjs');
const manifest = (name: string) =>
  JSON.stringify({ name: `@dmraid/${name}`, type: 'module', exports: { '.': { '@dmraid/source': './src/index.ts', import: './dist/index.js' } } });

/** A clean tree: core <- format-a <- engine <- cli <- testkit, package names resolved through node_modules links. */
const CLEAN: Record<string, string> = {
  'packages/core/src/index.ts': "export * from './model.js';\n",
  'packages/core/src/model.ts': 'export interface RaidSet { name: string }\n',
  'packages/format-a/src/index.ts': "import type { RaidSet } from '@dmraid/core';\nexport const a = (s: RaidSet) => s.name;\n",
  'packages/engine/src/index.ts': "import type { RaidSet } from '@dmraid/core';\nexport const run = (s: RaidSet) => s;\n",
  'packages/cli/src/index.ts': "export { main } from './main.js';\n",
  'packages/cli/src/main.ts': "import { run } from '@dmraid/engine';\nimport { show } from './commands/show.js';\nexport const main = () => show(run({ name: 'x' }));\n",
  'packages/cli/src/commands/show.ts': "import type { RaidSet } from '@dmraid/core';\nexport const show = (s: RaidSet) => s.name;\n",
  'packages/testkit/src/index.ts': "import { main } from '@dmraid/cli';\nexport const ours = () => main();\n",
};

async function tree(label: string, changes: Record<string, string> = {}): Promise<string> {
  const root = testDir(`import-graph-${label}`);
  for (const [path, text] of Object.entries({ ...CLEAN, ...changes })) {
    await fs.mkdir(dirname(join(root, path)), { recursive: true });
    await fs.writeFile(join(root, path), text);
  }
  await fs.mkdir(join(root, 'node_modules', '@dmraid'), { recursive: true });
  for (const name of await fs.readdir(join(root, 'packages'))) {
    await fs.writeFile(join(root, 'packages', name, 'package.json'), manifest(name));
    await fs.symlink(join(root, 'packages', name), join(root, 'node_modules', '@dmraid', name));
  }
  return root;
}

const check = (root: string, ...extra: string[]) => sh(process.execPath, [script, '--root', root, ...extra], root, { NO_COLOR: '1' });

describe('the import-graph check', () => {
  it('passes a tree whose arrows all point down (testkit -> cli included)', async () => {
    const r = await check(await tree('clean'));
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/no dependency violations found \(8 modules, \d+ dependencies cruised\)/);
  });

  it.each([
    ['a circle (type-only, as main.ts <-> commands/*)', 'no-circular', { 'packages/cli/src/commands/show.ts': "import type { main } from '../main.js';\nexport const show = (s: unknown): ReturnType<typeof main> | string => String(s);\n" }],
    ['core importing the CLI', 'core-imports-no-package', { 'packages/core/src/model.ts': "import '@dmraid/cli';\nexport interface RaidSet { name: string }\n" }],
    ['a format importing another format', 'format-imports-only-core', { 'packages/format-b/src/index.ts': "export { a } from '@dmraid/format-a';\n" }],
    ['the engine importing the CLI by a relative path', 'activation-engine-import-only-core', { 'packages/engine/src/index.ts': "import '../../cli/src/index.js';\nexport const run = (s: { name: string }) => s;\n" }],
    ['the CLI importing testkit', 'no-testkit-in-src', { 'packages/cli/src/commands/show.ts': "import '@dmraid/testkit';\nexport const show = (s: { name: string }) => s.name;\n" }],
  ])('fails on %s (%s)', async (_what, rule, changes) => {
    const r = await check(await tree(rule, changes));
    expect(r.status, r.stdout + r.stderr).not.toBe(0);
    expect(r.stdout).toContain(`error ${rule}:`);
  });

  it('a baseline forgives the violations it lists, not a new one', async () => {
    const root = await tree('baseline', { 'packages/core/src/model.ts': "import '@dmraid/cli';\nexport interface RaidSet { name: string }\n" });
    await fs.mkdir(join(root, 'config'));
    const recorded = await check(root, '--baseline');
    expect(recorded.status, recorded.stdout + recorded.stderr).toBe(0);
    const known = JSON.parse(await fs.readFile(join(root, 'config', 'import-graph-known.json'), 'utf8')) as { rule: { name: string } }[];
    expect(known.map((v) => v.rule.name)).toContain('core-imports-no-package');
    const again = await check(root);
    expect(again.status, again.stdout + again.stderr).toBe(0);

    await fs.writeFile(join(root, 'packages', 'format-a', 'src', 'index.ts'), "import '@dmraid/engine';\nexport const a = 1;\n");
    const added = await check(root);
    expect(added.status).not.toBe(0);
    expect(added.stdout).toContain('error format-imports-only-core:');
    expect(added.stdout).not.toContain('error core-imports-no-package:');
  });
});
