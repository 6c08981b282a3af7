/**
 * One generator for a new format handler package, from the format-template package's sources. Two
 * destinations: a standalone package anywhere (what `npm init @dmraid/format NAME` makes for a vendor: its own
 * name and configs, @dmraid/core as a peer, @dmraid/testkit for its tests) and a workspace package of the
 * dmraid repository (`npm run new-format`, configs extending the repository's). Nothing here prints: problems
 * are thrown as `ScaffoldError`s whose message the caller prints.
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export class ScaffoldError extends Error {
  override readonly name = 'ScaffoldError';
}

/** The tools a standalone package builds and tests with, at the versions this package was released with. */
const TOOLS = ['@types/node', 'fast-check', 'tsup', 'typescript', 'vitest'] as const;

interface OwnManifest {
  readonly name: string;
  readonly version: string;
  readonly devDependencies: Record<string, string>;
}

/** This package's folder: holds package.json and, once built, template/ (format-template's files). */
export const packageDir = fileURLToPath(new URL('..', import.meta.url));

function ownManifest(): OwnManifest {
  return JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as OwnManifest;
}

/**
 * The versions a standalone package depends on: `^` this release for @dmraid/core and @dmraid/testkit
 * (the fixed release group moves them and this package together), and the repository's tool versions.
 */
export function scaffoldVersions(): { dmraid: string; tools: Record<string, string> } {
  const own = ownManifest();
  const tools: Record<string, string> = {};
  for (const t of TOOLS) {
    const v = own.devDependencies[t];
    if (!v) throw new ScaffoldError(`${own.name}: no version of ${t} in its package.json`);
    tools[t] = v;
  }
  return { dmraid: `^${own.version}`, tools };
}

/** Why `name` cannot be a format's name (core's validateFormat rule), or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (!/^[a-z][a-z0-9_]{0,15}$/.test(name)) return `"${name}" is not a format name: 1-16 lowercase letters, digits or _, starting with a letter`;
  if (name === 'template') return '"template" is the template itself';
  return undefined;
}

/** Why `scope` cannot be an npm scope, or undefined when it can. */
export function scopeProblem(scope: string): string | undefined {
  return /^@[a-z0-9][a-z0-9._-]*$/.test(scope) ? undefined : `"${scope}" is not an npm scope (like @acme)`;
}

export interface ScaffoldOptions {
  /** The format's name (the handler's `name`, the `-f` argument). */
  readonly name: string;
  /** The folder to write; it must not exist or be empty. */
  readonly dest: string;
  /** The handler's description (`dmraid -l`); default "<name> metadata". */
  readonly description?: string;
  /** An npm scope such as `@acme`: the package becomes `@acme/dmraid-format-<name>`. Standalone only. */
  readonly scope?: string;
  /** format-template's files; default this package's template/ (copied there when it is built). */
  readonly templateDir?: string;
  /**
   * A workspace package of the dmraid repository at this root (`@dmraid/format-<name>`, the repository's
   * configs and versions) instead of a standalone one.
   */
  readonly workspaceRoot?: string;
}

export interface ScaffoldResult {
  readonly packageName: string;
  readonly version: string;
  readonly dir: string;
  /** The files written, relative to `dir`, sorted. */
  readonly files: string[];
}

interface TemplateManifest {
  description?: string;
  keywords: string[];
  dmraid: { apiVersion: number; format: string; template?: boolean };
  exports: Record<string, Record<string, string> | string>;
  types: string;
  files: string[];
  engines: Record<string, string>;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
  [key: string]: unknown;
}

const pascalCase = (name: string) =>
  name
    .split('_')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');

/** A copy of the template's source renamed to the new format, in file names and text alike. */
function renamer(name: string) {
  const pascal = pascalCase(name);
  return (text: string) => text.replaceAll('TEMPLATE', name.toUpperCase()).replaceAll('Template', pascal).replaceAll('template', name);
}

/** The exports map without the repository's private source condition: a standalone package has only dist/. */
function publishedExports(exports: TemplateManifest['exports']): TemplateManifest['exports'] {
  const out: TemplateManifest['exports'] = {};
  for (const [key, value] of Object.entries(exports)) {
    out[key] = typeof value === 'string' ? value : Object.fromEntries(Object.entries(value).filter(([c]) => c !== '@dmraid/source'));
  }
  return out;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

// The standalone package's configs: no path into the dmraid repository, @dmraid/core and @dmraid/testkit as
// installed (their dist/ and .d.ts).
const STANDALONE_TSCONFIG = `{
  "compilerOptions": {
    "target": "ES2022",
    "lib": ["ES2022"],
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "types": ["node"],
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "noImplicitOverride": true,
    "verbatimModuleSyntax": true,
    "isolatedModules": true,
    "skipLibCheck": true,
    "noEmit": true
  },
  "include": ["src", "test", "*.ts"]
}
`;

const STANDALONE_TSUP = `import { defineConfig } from 'tsup';

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
`;

const STANDALONE_VITEST = (packageName: string) => `import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: '${packageName}',
    root: import.meta.dirname,
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // The format tester fuzzes 10,000 images and runs the dmraid CLI in-process: seconds, not milliseconds.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
`;

const GITIGNORE = 'node_modules/\ndist/\n*.tgz\n';

function standaloneReadme(packageName: string, name: string): string {
  return `# ${packageName}

A [dmraid](https://www.npmjs.com/package/@dmraid/cli) format handler for the \`${name}\` metadata format.

\`\`\`sh
npm install @dmraid/cli ${packageName}
npx dmraid -l          # lists ${name} beside the other installed handlers
\`\`\`

## Developing

\`\`\`sh
npm install
npm test               # round-trip, fuzzing, truncated disks and the CLI's output on sample sets
npm run typecheck
npm run build          # dist/: what the dmraid CLI loads
npm pack               # the tarball to install beside @dmraid/cli
\`\`\`

The package started from a made-up format (a 64-byte block in the last sector). Replace it with yours:

- \`src/layout.ts\`: the on-disk structure, one \`struct({...})\` declaration with every field's offset.
- \`src/handler.ts\`: \`defineFormat({ read, group, check, log, write })\`, the vendor's rules.
- \`src/writer.ts\` and \`src/testbed.ts\`: sample sets built from the layout, for the tests.
- \`test/${name}.test.ts\`: \`formatTester.run(handler, cases)\` from \`@dmraid/testkit\` and what \`dmraid\` prints.

The \`dmraid\` field of package.json (\`apiVersion\`, \`format\`) is how the CLI finds this package: keep the
format name there equal to the handler's \`name\`.
`;
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  if (!existsSync(dir)) return true;
  const stat = await fs.stat(dir);
  if (!stat.isDirectory()) return false;
  return (await fs.readdir(dir)).length === 0;
}

/** Write a new format handler package into `options.dest`. Throws ScaffoldError when it cannot, before writing anything. */
export async function scaffold(options: ScaffoldOptions): Promise<ScaffoldResult> {
  const { name } = options;
  const problem = nameProblem(name) ?? (options.scope === undefined ? undefined : scopeProblem(options.scope));
  if (problem) throw new ScaffoldError(problem);
  if (options.scope !== undefined && options.workspaceRoot !== undefined) throw new ScaffoldError('a workspace package is always @dmraid/format-<name>: no --scope');
  const dir = resolve(options.dest);
  if (!(await isEmptyOrMissing(dir))) throw new ScaffoldError(`${dir} exists and is not an empty folder`);
  const templateDir = options.templateDir ?? join(packageDir, 'template');
  // format-template itself (in the workspace) or the copy the build ships, whose manifest is renamed.
  const manifestFile = ['package.json', 'template-package.json'].find((f) => existsSync(join(templateDir, f)));
  if (manifestFile === undefined) throw new ScaffoldError(`${templateDir} holds no template (build @dmraid/create-format first)`);

  const template = JSON.parse(await fs.readFile(join(templateDir, manifestFile), 'utf8')) as TemplateManifest;
  const rename = renamer(name);
  const workspace = options.workspaceRoot === undefined ? undefined : resolve(options.workspaceRoot);
  const files: string[] = [];
  const write = async (path: string, text: string) => {
    await fs.mkdir(join(dir, path, '..'), { recursive: true });
    await fs.writeFile(join(dir, path), text);
    files.push(path.split(sep).join('/'));
  };

  // Inside the repository the template's own configs come along, their relative paths to the shared configs
  // (config/, vitest.shared, tsconfig.base) rewritten for where the copy lands.
  const upToRoot = workspace === undefined ? '' : relative(dir, workspace).split(sep).join('/') || '.';
  const repoPaths = (text: string) =>
    text.replaceAll('../../config/', `${upToRoot}/config/`).replaceAll('../../vitest.shared.js', `${upToRoot}/vitest.shared.js`).replaceAll('../../tsconfig.base.json', `${upToRoot}/tsconfig.base.json`);
  const copied = workspace === undefined ? ['src', 'test'] : (await fs.readdir(templateDir)).filter((e) => e !== 'node_modules' && e !== 'dist' && e !== manifestFile);
  const copy = async (from: string, to: string): Promise<void> => {
    const stat = await fs.stat(join(templateDir, from));
    if (stat.isDirectory()) {
      for (const e of (await fs.readdir(join(templateDir, from))).sort()) await copy(join(from, e), join(to, rename(e)));
    } else if (stat.isFile()) {
      const text = rename(await fs.readFile(join(templateDir, from), 'utf8'));
      await write(to, workspace === undefined ? text : repoPaths(text));
    }
  };
  for (const e of copied.sort()) await copy(e, rename(e));

  const description = options.description ?? `${name} metadata`;
  if (options.description !== undefined) {
    const handlerPath = join(dir, 'src', 'handler.ts');
    const text = await fs.readFile(handlerPath, 'utf8');
    await fs.writeFile(handlerPath, text.replace(`description: 'dmraid format ${name}'`, `description: ${JSON.stringify(description)}`));
  }

  const keywords = [...new Set([...template.keywords, name])];
  const dmraid = { apiVersion: template.dmraid.apiVersion, format: name };
  let packageName: string;
  let version: string;
  if (workspace !== undefined) {
    const core = JSON.parse(await fs.readFile(join(workspace, 'packages', 'core', 'package.json'), 'utf8')) as { version: string };
    packageName = `@dmraid/format-${name}`;
    version = core.version;
    // From the template's own manifest: the renaming would have renamed its "template" flag too.
    const { private: _private, ...rest } = template;
    await write('package.json', json({ ...rest, name: packageName, version, description: `dmraid format handler: ${description}`, keywords, dmraid }));
  } else {
    const { dmraid: range, tools } = scaffoldVersions();
    packageName = `${options.scope ? `${options.scope}/` : ''}dmraid-format-${name}`;
    version = '0.1.0';
    const manifest = {
      name: packageName,
      version,
      description: `dmraid format handler: ${description}`,
      type: 'module',
      license: template['license'],
      keywords,
      dmraid,
      exports: publishedExports(template.exports),
      types: template.types,
      files: template.files,
      engines: template.engines,
      // The template's range, as our own handlers have: the handler contract is versioned by apiVersion, so a
      // handler keeps working across 0.x minors of core (a `^0.1.0` peer would refuse the next one).
      peerDependencies: { '@dmraid/core': template.peerDependencies['@dmraid/core'] ?? range },
      devDependencies: { '@dmraid/core': range, '@dmraid/testkit': range, ...tools },
      scripts: { build: 'tsup', typecheck: 'tsc -p tsconfig.json', test: 'vitest run', prepack: 'tsup' },
    };
    await write('package.json', json(manifest));
    await write('tsconfig.json', STANDALONE_TSCONFIG);
    await write('tsup.config.ts', STANDALONE_TSUP);
    await write('vitest.config.ts', STANDALONE_VITEST(packageName));
    await write('README.md', standaloneReadme(packageName, name));
    await write('.gitignore', GITIGNORE);
  }
  return { packageName, version, dir, files: files.sort() };
}
