// The JSON contract at the CLI's edge: every mode with --json has its document in the published schema, and
// the built CLI validates handler manifests with code compiled at build time: starting it loads no ajv.
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/registry.js';
import { tmp } from './helpers.js';
import { schema } from './json-schema.js';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const repo = fileURLToPath(new URL('../../../', import.meta.url));

// Resolves every import through a hook and logs its URL: the ES modules the run loads. CommonJS loads (a
// require() of ajv) show in NODE_DEBUG=module's lines.
const REGISTER = `import { register } from 'node:module';\nregister(new URL('./hooks.mjs', import.meta.url));\n`;
const HOOKS = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.DMRAID_TEST_RESOLVED, r.url + '\\n');
  return r;
}
`;

/** Runs the built CLI; the files of the modules it loaded, and its output. */
async function traced(args: readonly string[]) {
  const dir = tmp('json-contract');
  await fs.writeFile(join(dir, 'register.mjs'), REGISTER);
  await fs.writeFile(join(dir, 'hooks.mjs'), HOOKS);
  const log = join(dir, 'resolved.log');
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, bin, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, DMRAID_TEST_RESOLVED: log, NODE_DEBUG: 'module' },
  });
  const urls = readFileSync(log, 'utf8').split('\n').filter((u) => u.startsWith('file:'));
  return { ...r, files: [...new Set(urls.map((u) => fileURLToPath(u)))] };
}

describe('the JSON contract at the CLI', () => {
  it('every mode that takes --json prints a `command` the schema knows (the monitor: lines of $defs/monitorEvent)', () => {
    const commands = (schema.properties.command as { enum: string[] }).enum;
    const modes = Object.entries(COMMANDS).filter(([, row]) => row.json !== undefined);
    expect(modes.length).toBeGreaterThanOrEqual(11);
    for (const [mode, row] of modes) {
      if (mode === 'monitor') expect(schema.$defs).toHaveProperty('monitorEvent');
      else expect(commands, mode).toContain(row.json);
    }
  });

  it.skipIf(!existsSync(bin))('the built CLI\'s start (-V, -l: handlers found and their manifests validated) loads no part of ajv', async () => {
    for (const args of [['-V'], ['-l', '--json']]) {
      const r = traced(args);
      const { status, stderr, files } = await r;
      expect(status, stderr).toBe(0);
      // The trace sees the run: the CLI, core, and the handlers whose manifests were checked.
      expect(files).toContain(join(repo, 'packages/core/dist/index.js'));
      expect(files).toContain(join(repo, 'packages/format-isw/dist/index.js'));
      expect(stderr).toMatch(/^MODULE \d+: /m);
      expect(files.filter((f) => f.includes('/node_modules/ajv/'))).toEqual([]);
      expect(stderr).not.toMatch(/node_modules\/ajv\//);
      // Nor bundled into what was loaded: ajv's compiler carries these words; the generated validator does not.
      for (const f of files.filter((f) => f.startsWith(repo) && f.endsWith('.js'))) {
        expect(readFileSync(f, 'utf8'), f).not.toMatch(/\bajv\b|strictSchema|schema with key or id/i);
      }
    }
  });
});
