// Boot and hotplug: the udev rule and systemd units in contrib/ (shipped in the dmraid package), the
// dmraid-install-units command that puts them in /etc, systemd's own verifier on every unit, and udev
// running the rule on real metadata (testbed members on loop devices, typed by libblkid).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, promises as fs, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTestbedImages, listTestbedSets, testbedDir, testIf, type Requirement } from '@dmraid/testkit';
import { repoRoot, sh, tmp } from './helpers.js';

const pkgDir = join(repoRoot, 'packages', 'dmraid');
const contribDir = join(pkgDir, 'contrib');
const installer = join(pkgDir, 'bin', 'dmraid-install-units.js');
const RULE = '65-dmraid-hotplug.rules';
const UNITS = ['dmraid-activate@.service', 'dmraid-activation.service', 'dmraid-monitor.service'];
const ruleDest = (prefix: string) => join(prefix, 'etc', 'udev', 'rules.d', RULE);
const unitDest = (prefix: string, unit: string) => join(prefix, 'etc', 'systemd', 'system', unit);
const allDests = (prefix: string) => [ruleDest(prefix), ...UNITS.map((u) => unitDest(prefix, u))];

/** libblkid's type name for each format's members (util-linux libblkid/src/superblocks/*raid*.c). */
const BLKID_TYPE: Record<string, string> = {
  ddf1: 'ddf_raid_member',
  hpt37x: 'hpt37x_raid_member',
  hpt45x: 'hpt45x_raid_member',
  isw: 'isw_raid_member',
  nvidia: 'nvidia_raid_member',
  pdc: 'promise_fasttrack_raid_member',
  sil: 'silicon_medley_raid_member',
  via: 'via_raid_member',
};

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});
const scratch = (label: string) => {
  const d = tmp(label);
  dirs.push(d);
  return d;
};
const install = (args: readonly string[]) => sh(process.execPath, [installer, ...args], repoRoot);
const exists = (paths: readonly string[]) => paths.filter((p) => existsSync(p));

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
function systemdAnalyze(): Requirement {
  const ok = has('systemd-analyze');
  return { name: 'systemd-analyze', available: ok, reason: ok ? '' : 'systemd-analyze is missing (apt-get install -y systemd)' };
}
function udevTest(): Requirement {
  const name = 'udevadm test on loop devices';
  if (!has('udevadm')) return { name, available: false, reason: 'udevadm is missing (apt-get install -y udev)' };
  if (process.getuid?.() !== 0) return { name, available: false, reason: 'loop devices and a private mount namespace need root' };
  if (!has('losetup') || !has('unshare')) return { name, available: false, reason: 'losetup or unshare is missing (util-linux)' };
  if (!existsSync('/dev/loop-control')) return { name, available: false, reason: '/dev/loop-control is missing (no loop devices here)' };
  return { name, available: true, reason: '' };
}

describe('contrib/ is the dmraid package\'s, shipped in its tarball', () => {
  it('the repository root\'s contrib/ is the package\'s contrib/ (one copy)', () => {
    expect(realpathSync(join(repoRoot, 'contrib'))).toBe(realpathSync(contribDir));
  });

  it('npm pack of the dmraid package holds the rule, every unit and the installer', async () => {
    const packed = await sh('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', pkgDir], repoRoot);
    expect(packed.status, packed.stderr).toBe(0);
    const files = (JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining([`contrib/udev/${RULE}`, ...UNITS.map((u) => `contrib/systemd/${u}`), 'bin/dmraid-install-units.js']));
    const manifest = JSON.parse(await fs.readFile(join(pkgDir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(manifest.bin['dmraid-install-units']).toBe('./bin/dmraid-install-units.js');
  });
});

describe('dmraid-install-units', () => {
  it('--dry-run names every file it would install and writes nothing', async () => {
    const prefix = scratch('units-dry');
    const r = await install(['--prefix', prefix, '--dry-run']);
    expect(r).toEqual({ stdout: allDests(prefix).map((d) => `would install ${d}\n`).join(''), stderr: '', status: 0 });
    expect(exists(allDests(prefix))).toEqual([]);
  });

  it('installs under --prefix with this installation\'s dmraid in every ExecStart; a second run changes nothing', async () => {
    const prefix = scratch('units-prefix');
    const r = await install(['--prefix', prefix]);
    expect(r).toEqual({ stdout: allDests(prefix).map((d) => `installed ${d}\n`).join(''), stderr: '', status: 0 });
    const ours = `${process.execPath} ${join(pkgDir, 'bin', 'dmraid.cjs')}`;
    expect(await fs.readFile(ruleDest(prefix), 'utf8')).toBe(await fs.readFile(join(contribDir, 'udev', RULE), 'utf8'));
    for (const unit of UNITS) {
      const text = await fs.readFile(unitDest(prefix, unit), 'utf8');
      expect(text, unit).not.toContain('@DMRAID@');
      expect(text, unit).toBe((await fs.readFile(join(contribDir, 'systemd', unit), 'utf8')).replaceAll('@DMRAID@', ours));
    }
    expect(await fs.readFile(unitDest(prefix, 'dmraid-monitor.service'), 'utf8')).toContain(`\nExecStart=${ours} --monitor\n`);
    expect((await fs.stat(ruleDest(prefix))).mode & 0o777).toBe(0o644);

    const again = await install(['--prefix', prefix]);
    expect(again).toEqual({ stdout: allDests(prefix).map((d) => `unchanged ${d}\n`).join(''), stderr: '', status: 0 });
  });

  it('refuses a file changed by the admin: an ERROR line naming it, exit 1, nothing written at all', async () => {
    const prefix = scratch('units-changed');
    const edited = unitDest(prefix, 'dmraid-monitor.service');
    await fs.mkdir(join(prefix, 'etc', 'systemd', 'system'), { recursive: true });
    await fs.writeFile(edited, '[Service]\nExecStart=/usr/local/bin/dmraid --monitor --program /root/page-me\n');
    const r = await install(['--prefix', prefix]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`ERROR: ${edited}: exists and differs from the shipped ${join(contribDir, 'systemd', 'dmraid-monitor.service')}; nothing written (--force overwrites it)\n`);
    expect(await fs.readFile(edited, 'utf8')).toContain('/root/page-me');
    expect(exists(allDests(prefix))).toEqual([edited]);

    const forced = await install(['--prefix', prefix, '--force', '--dmraid', '/usr/local/bin/dmraid']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.stdout).toContain(`overwrote ${edited}\n`);
    expect(forced.stdout).toContain(`installed ${ruleDest(prefix)}\n`);
    expect(await fs.readFile(edited, 'utf8')).toContain('\nExecStart=/usr/local/bin/dmraid --monitor\n');
  });

  it('--dmraid takes an absolute path only; a path with a space is quoted for systemd', async () => {
    const prefix = scratch('units-dmraid');
    expect(await install(['--prefix', prefix, '--dmraid', 'dmraid'])).toEqual({ stdout: '', stderr: 'ERROR: --dmraid dmraid: systemd needs an absolute path\n', status: 2 });
    expect(exists(allDests(prefix))).toEqual([]);
    const r = await install(['--prefix', prefix, '--dmraid', '/opt/my tools/dmraid']);
    expect(r.status, r.stderr).toBe(0);
    expect(await fs.readFile(unitDest(prefix, 'dmraid-monitor.service'), 'utf8')).toContain('\nExecStart="/opt/my tools/dmraid" --monitor\n');
  });

  it('a reader that went away (| head -1): exit 141, no stack trace, every file still written', async () => {
    const prefix = scratch('units-pipe');
    const child = spawn(process.execPath, [installer, '--prefix', prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed before the child has started, so its first write meets a pipe with no reader.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = await new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    expect({ status, stderr }).toEqual({ status: 141, stderr: '' });
    expect(exists(allDests(prefix))).toEqual(allDests(prefix));
  });

  it('an unknown option is an ERROR line and exit 2, nothing written', async () => {
    expect(await install(['--prefx', '/tmp'])).toEqual({ stdout: '', stderr: 'ERROR: unknown argument "--prefx" (see --help)\n', status: 2 });
  });
});

describe('systemd-analyze verify', () => {
  const verifyIt = testIf(it, systemdAnalyze());

  verifyIt('every installed unit verifies without a warning (the template as an instance)', async () => {
    const prefix = scratch('units-verify');
    expect((await install(['--prefix', prefix])).status).toBe(0);
    const dir = join(prefix, 'etc', 'systemd', 'system');
    // A template is loaded through an instance name; the file on disk stays the template.
    const names = UNITS.map((u) => join(dir, u.replace('@.', '@sdb.')));
    const r = await sh('systemd-analyze', ['verify', ...names], dir);
    expect(r).toEqual({ stdout: '', stderr: '', status: 0 });
  });

  verifyIt('the verifier is strict enough to catch a unit broken as they break (a bad Type, a missing command)', async () => {
    const dir = scratch('units-broken');
    const good = await fs.readFile(join(contribDir, 'systemd', 'dmraid-monitor.service'), 'utf8');
    await fs.writeFile(join(dir, 'dmraid-monitor.service'), good.replace('Type=simple', 'Type=simpel').replaceAll('@DMRAID@', '/usr/bin/true'));
    const badType = await sh('systemd-analyze', ['verify', join(dir, 'dmraid-monitor.service')], dir);
    expect(badType.stderr).toContain('simpel');
    await fs.writeFile(join(dir, 'dmraid-monitor.service'), good);
    const raw = await sh('systemd-analyze', ['verify', join(dir, 'dmraid-monitor.service')], dir);
    expect(raw.status, 'the uninstalled placeholder is not a command').not.toBe(0);
  });
});

describe('the udev rule under udevadm test', () => {
  const udevIt = testIf(it, udevTest());

  /** `udevadm test --action=add` per loop device, in a mount namespace whose rules are blkid's and ours only. */
  async function udevProperties(images: readonly string[], opts: { cmdline?: string; before?: string } = {}): Promise<Map<string, Map<string, string>>> {
    const work = scratch('udev');
    const rulesDir = realpathSync('/lib/udev/rules.d');
    const minimal = join(work, 'rules');
    await fs.mkdir(minimal);
    // 60-persistent-storage.rules runs libblkid (ID_FS_TYPE); mdadm's and the rest stay out, since udevadm
    // test runs IMPORT{program} for real and mdadm --incremental would assemble the test disks.
    await fs.copyFile(join(rulesDir, '60-persistent-storage.rules'), join(minimal, '60-persistent-storage.rules'));
    // A rule standing in for one that runs before ours (mdadm's 64-md-raid-assembly.rules).
    if (opts.before !== undefined) await fs.writeFile(join(minimal, '64-before.rules'), `${opts.before}\n`);
    const ours = scratch('udev-prefix');
    expect((await install(['--prefix', ours])).status).toBe(0);
    const loops: string[] = [];
    try {
      for (const image of images) {
        const l = await sh('losetup', ['--find', '--show', '--read-only', image], work);
        expect(l.status, l.stderr).toBe(0);
        loops.push(l.stdout.trim());
      }
      const script = [
        'set -e',
        `mount -t tmpfs none ${rulesDir}`,
        'mount -t tmpfs none /etc/udev/rules.d',
        `cp ${minimal}/* ${rulesDir}/`,
        `cp ${ruleDest(ours)} /etc/udev/rules.d/`,
        'for d in "$@"; do echo "=== $d"; udevadm test --action=add "/sys/class/block/$d" 2>/dev/null; done',
      ].join('\n');
      const r = await sh('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...loops.map((l) => l.replace('/dev/', ''))], work, {
        // systemd's own override of the kernel command line (it reads PID 1's in a container, not /proc/cmdline).
        SYSTEMD_PROC_CMDLINE: opts.cmdline ?? 'ro quiet',
      });
      expect(r.status, r.stderr).toBe(0);
      const out = new Map<string, Map<string, string>>();
      for (const chunk of r.stdout.split('=== ').slice(1)) {
        const [dev, ...lines] = chunk.split('\n');
        out.set(dev!, new Map(lines.filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])));
      }
      return new Map(images.map((image, i) => [image, out.get(loops[i]!.replace('/dev/', ''))!]));
    } finally {
      for (const l of loops) await sh('losetup', ['--detach', l], work);
    }
  }

  udevIt('a member of every format wants dmraid-activate@<disk>.service; a blank disk wants nothing', async () => {
    const images: string[] = [];
    const formatOf = new Map<string, string>();
    for (const format of Object.keys(BLKID_TYPE)) {
      const set = (await listTestbedSets(testbedDir, format))[0];
      expect(set, `a testbed set for ${format}`).toBeDefined();
      const dir = scratch(`udev-${format}`);
      // A spec is `<image>[:<serial>]`, relative to the directory.
      const image = join(dir, (await buildTestbedImages(set!, dir))[0]!.split(':')[0]!);
      images.push(image);
      formatOf.set(image, format);
    }
    const blank = join(scratch('udev-blank'), 'blank.img');
    await fs.writeFile(blank, Buffer.alloc(0));
    await fs.truncate(blank, 8 << 20);
    images.push(blank);

    const props = await udevProperties(images);
    for (const [image, format] of formatOf) {
      const p = props.get(image)!;
      expect(p.get('ID_FS_TYPE'), format).toBe(BLKID_TYPE[format]);
      expect(p.get('SYSTEMD_WANTS'), format).toBe(`dmraid-activate@${p.get('DEVNAME')!.replace('/dev/', '')}.service`);
      expect(p.get('TAGS'), format).toContain(':systemd:');
    }
    expect(props.get(blank)!.get('ID_FS_TYPE')).toBeUndefined();
    expect(props.get(blank)!.get('SYSTEMD_WANTS')).toBeUndefined();
  });

  /** The first member image of a format's first testbed set. */
  async function member(format: string): Promise<string> {
    const set = (await listTestbedSets(testbedDir, format))[0]!;
    const dir = scratch(`udev-${format}`);
    return join(dir, (await buildTestbedImages(set, dir))[0]!.split(':')[0]!);
  }

  udevIt('nodmraid on the kernel command line: a member wants nothing', async () => {
    const image = await member('isw');
    const props = (await udevProperties([image], { cmdline: 'ro nodmraid quiet' })).get(image)!;
    expect(props.get('ID_FS_TYPE')).toBe('isw_raid_member');
    expect(props.get('SYSTEMD_WANTS')).toBeUndefined();
  });

  udevIt('a member md has taken (MD_DEVICE set by mdadm --incremental --export) is left to md', async () => {
    const image = await member('ddf1');
    const props = (await udevProperties([image], { before: 'SUBSYSTEM=="block", ENV{ID_FS_TYPE}=="ddf_raid_member", ENV{MD_DEVICE}="md127"' })).get(image)!;
    expect(props.get('MD_DEVICE')).toBe('md127');
    expect(props.get('SYSTEMD_WANTS')).toBeUndefined();
  });
});
