#!/usr/bin/env node
/**
 * dmraid.8 and the shell completion files, made at build time from the CLI's option table (OPTIONS), so the
 * options are described once: `node scripts/man.mjs OUT` (after tsup) writes OUT/man/dmraid.8,
 * OUT/completion/bash/dmraid and OUT/completion/zsh/_dmraid. The sections around the options are written here.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Text as roff reads it: backslashes and dashes escaped, no line starting with a control character. */
const roff = (text) => text.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/gm, '\\&$1');
const bold = (text) => `\\fB${roff(text)}\\fR`;
const italic = (text) => `\\fI${roff(text)}\\fR`;

/** A help line's text as a sentence. */
const sentence = (text) => `${text[0].toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}`;

/** One option's entry: its names and argument, then its text (the man field's, else the help line's). */
function entry(row, argumentName) {
  const names = [row.short && bold(`-${row.short}`), row.long && bold(`--${row.long}`)].filter(Boolean).join(', ');
  const text = row.man?.text ?? (row.help && sentence(row.help[1]));
  if (!text) throw new Error(`dmraid.8: option ${row.long ? `--${row.long}` : `-${row.short}`} has no text: give its OPTIONS row a man (or help) field`);
  const arg = argumentName(row);
  if (row.arg !== 'none' && !arg) throw new Error(`dmraid.8: option ${row.long ? `--${row.long}` : `-${row.short}`} takes an argument without a name: give its man field an arg`);
  const tag = arg ? `${names} ${italic(arg)}` : names;
  return `.TP\n${tag}\n${roff(text)}\n`;
}

/** The whole page: the options from the table, between the sections written here. */
export function manPage({ options, argumentName, version }) {
  const dmraids = options.filter((r) => r.dmraid).map((r) => entry(r, argumentName)).join('');
  const ours = options.filter((r) => !r.dmraid).map((r) => entry(r, argumentName)).join('');
  return `.\\" Made from the option table of @dmraid/cli (packages/cli/src/options.ts) by scripts/man.mjs: edit those.
.TH DMRAID 8 "" "dmraid ${roff(version)}" "System Manager's Manual"
.SH NAME
dmraid \\- discover, list, activate and repair BIOS fakeRAID (ATARAID) sets
.SH SYNOPSIS
.B dmraid
{\\fB\\-r\\fR|\\fB\\-s\\fR|\\fB\\-b\\fR|\\fB\\-n\\fR|\\fB\\-l\\fR|\\fB\\-V\\fR|\\fB\\-h\\fR}
[\\fIoption\\fR...] [\\fIdevice\\fR|\\fIRAID\\-set\\fR...]
.br
.B dmraid
{\\fB\\-a\\fR|\\fB\\-\\-activate\\fR} {\\fByes\\fR|\\fBno\\fR} [\\fIoption\\fR...] [\\fIRAID\\-set\\fR...]
.br
.B dmraid
{\\fB\\-C\\fR|\\fB\\-R\\fR|\\fB\\-S\\fR|\\fB\\-x\\fR|\\fB\\-r \\-E\\fR|\\fB\\-\\-restore\\fR} ...
.br
.B dmraid
{\\fB\\-\\-extract\\fR|\\fB\\-\\-serve\\fR|\\fB\\-\\-check\\-data\\fR|\\fB\\-\\-draw\\fR|\\fB\\-\\-infer\\fR|\\fB\\-\\-monitor\\fR} ...
.br
.B dmraid
.B \\-\\-completion
{\\fBbash\\fR|\\fBzsh\\fR}
.SH DESCRIPTION
.B dmraid
finds the RAID sets that the BIOS RAID of a motherboard or a host adapter (Highpoint, Intel Matrix, NVidia,
Promise, Silicon Image, VIA, SNIA DDF1) recorded in metadata on its disks, lists them, and activates them
through the kernel's device-mapper.
It is a TypeScript successor of dmraid 1.0.0.rc16: its options, output, messages and exit statuses are that
dmraid's, and it adds a userspace engine that reads a set's data without the kernel
(\\fB\\-\\-extract\\fR, \\fB\\-\\-serve\\fR over NBD, \\fB\\-\\-check\\-data\\fR),
JSON output, recovery from lost metadata or unreadable areas, and a monitor.
.PP
Without \\fB\\-\\-devices\\fR it scans the system's block devices; with it, it works on the devices or image
files named, and never writes unless the command asks to.
Every write asks first (\\fB\\-\\-yes\\fR answers for scripts), keeps a backup of the metadata it replaces, and
reads back what it wrote.
The format handlers are packages installed beside the command (\\fB@dmraid/format\\-\\fR\\fINAME\\fR);
\\fB\\-l\\fR lists those found.
.SH OPTIONS
Options may be given anywhere on the line, long ones by any unique prefix; \\fB\\-\\-\\fR ends them.
.SS "dmraid's options"
${dmraids}.SS "Beyond dmraid"
${ours}.TP
\\fB\\-\\-\\fR\\fIformat\\fR\\fB\\-\\fR\\fIkey\\fR\\fB=\\fR\\fIvalue\\fR
An option of one format handler (for example \\fB\\-\\-isw\\-match=position\\fR); its format's page lists them.
.SH EXIT STATUS
.TP
.B 0
The command did what was asked.
.TP
.B 1
It did not: no RAID disks, no sets, a bad option, an unreadable device; one \\fBERROR:\\fR line says which
device and why.
.TP
.B 2
\\fB\\-\\-check\\-data\\fR found mismatches, or \\fB\\-\\-extract\\fR lost sectors.
.TP
.B 141
A reader of its output went away (as a C tool killed by SIGPIPE).
.PP
With \\fB\\-s \\-t\\fR the status is the sets' health: 0 ok, 1 degraded, 2 unusable, 4 an error.
.SH ENVIRONMENT
.TP
.B DMRAID_DMSETUP
The dmsetup command to run (default \\fBdmsetup\\fR).
.TP
.B DMRAID_LOCKFILE
The lock file (default \\fI/var/lock/dmraid/.lock\\fR).
.TP
.B DMRAID_LOCK_WAIT_MS
How long to wait for the lock, in milliseconds (default 10000).
.TP
.B DMRAID_MONITOR_RESCAN_SECONDS
How often \\fB\\-\\-monitor\\fR rescans the disks (default 30).
.TP
.B DMRAID_MONITOR_PROGRESS_SECONDS
How often \\fB\\-\\-monitor\\fR reads a running resync's progress (default 5).
.TP
.B XDG_CACHE_HOME
Where the \\fBdmraid\\fR command keeps its compiled code (default \\fI~/.cache\\fR; see FILES).
.SH FILES
.TP
.I /var/lock/dmraid/.lock
One run at a time activates or writes (\\fB\\-i\\fR skips it).
.TP
.I dmraid.FORMAT/
In the current folder: \\fB\\-D\\fR's and \\fB\\-E\\fR's dumps (\\fIDEVICE\\fR.dat, .offset, .size), and the
\\fIbackup\\-TIME/\\fR folders that every metadata write keeps; \\fB\\-\\-restore\\fR puts them back.
.TP
.I $XDG_CACHE_HOME/dmraid/
The \\fBdmraid\\fR command's compiled code, kept between runs for a faster start: private to the user (a
folder or file another user could write is not used), safe to delete. Nothing is written where no such folder
can be made.
.SH EXAMPLES
.TP
.B dmraid \\-\\-devices m0.img,m1.img \\-s \\-c \\-c \\-c
The sets on two image files, in columns.
.TP
.B dmraid \\-ay
Activate every set found.
.TP
.B dmraid \\-\\-extract isw_abc_Vol0 \\-o vol.img
Copy a set's volume into a file, without the kernel.
.TP
.B dmraid \\-\\-serve \\-\\-listen 10809
Serve the sets read\\-only over NBD.
.TP
.B dmraid \\-s \\-\\-json
The sets as one JSON document.
.TP
.B source <(dmraid \\-\\-completion bash)
Complete dmraid's options in this bash.
.SH SEE ALSO
.BR dmsetup (8),
.BR mdadm (8),
.BR nbd\\-client (8),
.BR ddrescue (1)
`;
}

// As a build step: the page and the completion scripts, from the built CLI.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? 'dist');
  const here = fileURLToPath(new URL('.', import.meta.url));
  const cli = await import(new URL('../dist/index.js', import.meta.url).href);
  const bin = join(here, '..', 'dist', 'bin.js');
  const files = {
    'man/dmraid.8': manPage({ options: cli.OPTIONS, argumentName: cli.argumentName, version: cli.cliVersion }),
    'completion/bash/dmraid': execFileSync(process.execPath, [bin, '--completion', 'bash'], { encoding: 'utf8' }),
    'completion/zsh/_dmraid': execFileSync(process.execPath, [bin, '--completion', 'zsh'], { encoding: 'utf8' }),
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(out, name, '..'), { recursive: true });
    writeFileSync(join(out, name), text);
  }
}
