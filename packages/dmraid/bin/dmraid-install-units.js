#!/usr/bin/env node
// Copies the udev rule and systemd units shipped in this package to /etc, with the dmraid command of this
// installation written into their ExecStart lines (a bare `dmraid` would find whichever dmraid comes first in
// systemd's fixed search path, often the C one in /usr/sbin). Plain JS with no build: it runs from the tarball.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const contribDir = join(pkgDir, 'contrib');
/** Where each contrib folder goes under the prefix: the admin's own directories, not the distribution's /usr/lib. */
const TARGETS = [
  { from: 'udev', to: join('etc', 'udev', 'rules.d') },
  { from: 'systemd', to: join('etc', 'systemd', 'system') },
];
const PLACEHOLDER = '@DMRAID@';

const USAGE = `Usage: dmraid-install-units [--prefix DIR] [--dmraid COMMAND] [--dry-run] [--force]

Installs the dmraid udev rule into DIR/etc/udev/rules.d and its systemd units into DIR/etc/systemd/system
(DIR defaults to /). A file that exists with other content is left alone unless --force is given.
  --prefix DIR       install under DIR instead of / (a staging root or an image)
  --dmraid COMMAND   the dmraid command the units run (default: this package's, with this node)
  --dry-run          print what would be done, write nothing
  --force            overwrite files that differ from the shipped ones
`;

/** systemd's quoting for one ExecStart word: quoted only when it has to be. */
const execWord = (w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `"${w.replace(/(["\\])/g, '\\$1')}"`);

function parseArgs(argv) {
  const opts = { prefix: '/', dmraid: undefined, dryRun: false, force: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v === '') throw new Error(`option ${a} needs a value`);
      return v;
    };
    if (a === '--prefix') opts.prefix = resolve(value());
    else if (a.startsWith('--prefix=')) opts.prefix = resolve(a.slice('--prefix='.length));
    else if (a === '--dmraid') opts.dmraid = value();
    else if (a.startsWith('--dmraid=')) opts.dmraid = a.slice('--dmraid='.length);
    else if (a === '--dry-run' || a === '-n') opts.dryRun = true;
    else if (a === '--force' || a === '-f') opts.force = true;
    else if (a === '--help' || a === '-h') opts.help = true;
    else throw new Error(`unknown argument "${a}" (see --help)`);
  }
  if (opts.dmraid !== undefined && !opts.dmraid.startsWith('/')) throw new Error(`--dmraid ${opts.dmraid}: systemd needs an absolute path`);
  return opts;
}

function plan(opts) {
  const command = opts.dmraid !== undefined ? execWord(opts.dmraid) : `${execWord(process.execPath)} ${execWord(join(pkgDir, 'bin', 'dmraid.cjs'))}`;
  const files = [];
  for (const { from, to } of TARGETS) {
    for (const name of readdirSync(join(contribDir, from)).sort()) {
      const source = join(contribDir, from, name);
      const content = readFileSync(source, 'utf8').replaceAll(PLACEHOLDER, command);
      const dest = join(opts.prefix, to, name);
      const existing = existsSync(dest) ? readFileSync(dest, 'utf8') : undefined;
      files.push({ source, dest, content, state: existing === undefined ? 'new' : existing === content ? 'same' : 'changed' });
    }
  }
  return files;
}

function main(argv) {
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`ERROR: ${e.message}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!existsSync(contribDir)) {
    process.stderr.write(`ERROR: ${contribDir}: the shipped units are missing from this installation\n`);
    return 1;
  }
  const files = plan(opts);
  const refused = files.filter((f) => f.state === 'changed' && !opts.force);
  if (refused.length) {
    // All or nothing: a half-installed set (a rule without its unit) starts nothing or fails at every hotplug.
    for (const f of refused) process.stderr.write(`ERROR: ${f.dest}: exists and differs from the shipped ${f.source}; nothing written (--force overwrites it)\n`);
    return 1;
  }
  const verb = opts.dryRun ? 'would install' : 'installed';
  for (const f of files) {
    if (f.state === 'same') {
      process.stdout.write(`unchanged ${f.dest}\n`);
      continue;
    }
    const how = f.state === 'changed' ? `${opts.dryRun ? 'would overwrite' : 'overwrote'}` : verb;
    if (!opts.dryRun) {
      mkdirSync(dirname(f.dest), { recursive: true });
      // Written beside and renamed, so udev or systemd never read half a file.
      const tmp = `${f.dest}.dmraid-tmp`;
      writeFileSync(tmp, f.content, { mode: 0o644 });
      renameSync(tmp, f.dest);
    }
    process.stdout.write(`${how} ${f.dest}\n`);
  }
  if (!opts.dryRun && opts.prefix === '/') {
    process.stdout.write('next: udevadm control --reload && systemctl daemon-reload && systemctl enable dmraid-activation.service dmraid-monitor.service\n');
  }
  return 0;
}

// A reader that went away (`| head -1`) ends the command as SIGPIPE ends a C tool, 141, as the dmraid command
// does (docs/guide.md "Standard output closed or full"); by then every file is written, since main is synchronous.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET' && stream === process.stdout) {
      process.stderr.write(`ERROR: cannot write to standard output: ${e.message}\n`);
    }
    process.exit(e.code === 'EPIPE' || e.code === 'ECONNRESET' ? 141 : 1);
  });
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`ERROR: ${e.message}\n`);
  process.exitCode = 1;
}
