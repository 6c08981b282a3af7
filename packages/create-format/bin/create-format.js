#!/usr/bin/env node
// npm init @dmraid/format <name> [dir] [--scope @vendor] [--description TEXT]
import { relative } from 'node:path';
import { scaffold, ScaffoldError } from '../dist/index.js';

const USAGE = 'usage: npm init @dmraid/format <name> [dir] [--scope @vendor] [--description TEXT]';

function fail(message, status = 2) {
  console.error(`ERROR: ${message}`);
  if (status === 2) console.error(USAGE);
  process.exit(status);
}

const args = process.argv.slice(2);
const positional = [];
let scope;
let description;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = (flag) => {
    if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
    if (i + 1 >= args.length) fail(`${flag} needs a value`);
    return args[++i];
  };
  if (a === '-h' || a === '--help') {
    console.log(USAGE);
    process.exit(0);
  } else if (a === '--scope' || a.startsWith('--scope=')) scope = value('--scope');
  else if (a === '--description' || a.startsWith('--description=')) description = value('--description');
  else if (a.startsWith('-')) fail(`unknown option ${a}`);
  else positional.push(a);
}
if (positional.length === 0) fail('no format name given');
if (positional.length > 2) fail(`unexpected argument ${positional[2]}`);
const [name, dir] = positional;
if (scope !== undefined && !scope.startsWith('@')) scope = `@${scope}`;

try {
  const made = await scaffold({ name, dest: dir ?? `dmraid-format-${name}`, scope, description });
  const where = relative(process.cwd(), made.dir) || '.';
  console.log(`created ${made.packageName} in ${where}`);
  console.log('next:');
  if (where !== '.') console.log(`  cd ${where}`);
  console.log('  npm install');
  console.log('  npm test');
  console.log('then replace src/layout.ts and src/handler.ts with your format (README.md).');
} catch (e) {
  if (e instanceof ScaffoldError) fail(e.message, 1);
  throw e;
}
