/**
 * `--restore DIR [DEVICE...]`: put a metadata dump (-D, -E) or a write's backup (dmraid.<format>/backup-*)
 * back on its disks, so an erase or a write is undone without dd. Every check comes before the first byte:
 * each file as the manifest describes it, each disk found and of the dumped size, every device claimed and
 * every answer yes. What is overwritten is dumped first (a restore is itself undone by restoring that), each
 * write is synced and read back.
 */
import { promises as fs } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fromNodeError, isIoError, openDevice, parseDeviceSpec, SECTOR, type WritableDevice } from '@dmraid/core';
import { claimRefusal, deviceClaims } from '../claim.js';
import { confirm, type CommandContext } from '../context.js';
import { backupRange, identityAt, readManifest, sha256, type ManifestDevice } from '../metadata-io.js';

/** One device's part of a restore. */
interface Target {
  readonly format: string;
  /** The device's path as given, or the manifest's. */
  readonly path: string;
  device?: WritableDevice;
  readonly writes: { readonly file: string; readonly offsetBytes: number; readonly data: Uint8Array }[];
}

/** A dump as found in DIR: per device (its manifest entry, or an older dump's basename and .size). */
interface Dumped {
  readonly name: string;
  readonly entry?: ManifestDevice;
  readonly sizeSectors?: number;
  readonly files: { readonly file: string; readonly offsetBytes: number; readonly length?: number; readonly sha256?: string }[];
}

class Refusal extends Error {}

export default async function command(ctx: CommandContext): Promise<number> {
  const dir = resolve(ctx.io.cwd, ctx.o.restoreDir!);
  const opened: WritableDevice[] = [];
  const claims = deviceClaims(ctx.io.cwd);
  const summary: Record<string, unknown> = { dir, backup: null, devices: [], status: 'refused' };
  try {
    const targets = await plan(ctx, dir, opened);
    summary.devices = targets.map((t) => ({ format: t.format, path: t.path, writes: t.writes.map((w) => ({ file: w.file, offset: w.offsetBytes, size: w.data.length })) }));
    for (const t of targets) {
      for (const w of t.writes) ctx.out.line(`restore "${t.format}" metadata on ${t.path}: ${w.data.length} bytes at byte ${w.offsetBytes} from ${w.file}`);
    }
    const taken = await claims.take(targets.map((t) => t.path));
    if (isIoError(taken)) throw new Refusal(claimRefusal(taken));
    for (const t of targets) {
      const question = `Do you really want to restore "${t.format}" ondisk metadata on ${t.path} ? [y/n] :`;
      if (!ctx.o.yes && !(await confirm(ctx.io, question))) throw new Refusal(`restoring ${dir}: not confirmed for ${t.path}, nothing written`);
    }
    const backup = await backupOf(ctx, targets);
    summary.backup = backup;
    ctx.out.log('print', `the metadata replaced is kept in ${backup} (dmraid --restore ${backup} undoes this)`);
    const ok = await write(ctx, targets);
    summary.status = ok ? 'restored' : 'failed';
    return ok ? 0 : 1;
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    ctx.out.log('error', e.message);
    return 1;
  } finally {
    await claims.release();
    await Promise.all(opened.map((d) => d.close()));
    if (ctx.o.json) ctx.out.emitJson({ restore: summary });
  }
}

/** Every check before the first byte: the targets with their bytes, devices opened for writing. */
async function plan(ctx: CommandContext, dir: string, opened: WritableDevice[]): Promise<Target[]> {
  const folder = await fs.stat(dir).catch((e: unknown) => fromNodeError(dir, e));
  if (isIoError(folder)) throw new Refusal(`${dir}: ${folder.message}`);
  if (!folder.isDirectory()) throw new Refusal(`${dir}: not a folder (a dump is the dmraid.FORMAT folder, or a backup-* folder in it)`);
  const manifest = await readManifest(dir);
  if (manifest instanceof Error) throw new Refusal(`${join(dir, 'manifest.json')}: ${manifest.message}`);
  const format = manifest?.format ?? formatOfFolder(dir);
  const dumped = manifest ? manifest.devices.map((entry) => ({ name: basename(entry.path), entry, sizeSectors: entry.sizeSectors, files: entry.files })) : await olderDump(dir);
  if (dumped.length === 0) throw new Refusal(`${dir}: no metadata dump in it`);

  const given = [...(ctx.o.devices ?? []), ...ctx.o.operands];
  const open = async (spec: string) => {
    const { path, serial } = await parseDeviceSpec(spec, ctx.io.cwd);
    const d = await openDevice(path, { serial, writable: true, cwd: ctx.io.cwd, sysfs: ctx.sysfs });
    if (isIoError(d)) throw new Refusal(`cannot open device "${path}": ${d.message}`);
    opened.push(d);
    return d;
  };
  const pairs: [Dumped, WritableDevice, boolean][] = [];
  if (given.length === 0) {
    if (!manifest) throw new Refusal(`${dir}: an older dump without manifest.json: name the device(s) to restore it to`);
    for (const d of dumped) pairs.push([d, await open(d.entry!.path), false]);
  } else {
    const devices: WritableDevice[] = [];
    for (const spec of given) devices.push(await open(spec));
    for (const device of devices) {
      const d = dumpFor(dir, dumped, devices, device, ctx.io.cwd);
      const twice = pairs.find(([other]) => other === d);
      if (twice) throw new Refusal(`${device.path} and ${twice[1].path}: both would get the dump of ${d.name}`);
      pairs.push([d, device, true]);
    }
  }
  const targets: Target[] = [];
  for (const [d, device, named] of pairs) {
    await checkDisk(d, device, named, ctx);
    targets.push({ format, path: device.path, device, writes: await filesOf(dir, d, device) });
  }
  return targets;
}

/** The folder's format: dmraid.<format>, or a backup folder inside one. */
function formatOfFolder(dir: string): string {
  const m = /^dmraid\.(.+)$/.exec(basename(dir)) ?? /^dmraid\.(.+)$/.exec(basename(dirname(dir)));
  return m?.[1] ?? 'unknown';
}

/** A dump without a manifest: `<name><suffix>.dat` + `.offset` (+ `<name>.size`), as dmraid -rD writes it. */
async function olderDump(dir: string): Promise<Dumped[]> {
  const names = await fs.readdir(dir);
  const sizes = new Map<string, number>();
  for (const n of names.filter((n) => n.endsWith('.size'))) {
    const text = (await fs.readFile(join(dir, n), 'utf8')).trim();
    if (!/^\d+$/.test(text)) throw new Refusal(`${join(dir, n)}: "${text}" is no size in sectors`);
    sizes.set(n.slice(0, -5), Number(text));
  }
  const byName = new Map<string, Dumped>();
  for (const n of names.filter((n) => n.endsWith('.dat')).sort()) {
    const stem = n.slice(0, -4);
    let offsetText: string | undefined;
    try {
      offsetText = (await fs.readFile(join(dir, `${stem}.offset`), 'utf8')).trim();
    } catch {
      // sil's dump of a missing copy: an empty .dat and no .offset.
      if ((await fs.stat(join(dir, n))).size === 0) continue;
      throw new Refusal(`${join(dir, n)}: no ${stem}.offset beside it: where it goes is unknown`);
    }
    if (!/^\d+$/.test(offsetText)) throw new Refusal(`${join(dir, `${stem}.offset`)}: "${offsetText}" is no byte offset`);
    // The device's name: the longest one with a .size that the file's name starts with; a write's backup
    // (no .size) is <name>-<offset>.
    const owner = [...sizes.keys()].filter((s) => stem.startsWith(s)).sort((a, b) => b.length - a.length)[0] ?? stem.replace(new RegExp(`-${offsetText}$`), '');
    const d = byName.get(owner) ?? { name: owner, sizeSectors: sizes.get(owner), files: [] };
    d.files.push({ file: n, offsetBytes: Number(offsetText) });
    byName.set(owner, d);
  }
  return [...byName.values()];
}

/** The dump of a named device: by path, serial or name; a lone dump goes to a lone device. */
function dumpFor(dir: string, dumped: readonly Dumped[], devices: readonly WritableDevice[], device: WritableDevice, cwd: string): Dumped {
  const full = resolve(cwd, device.path);
  const tests: ((d: Dumped) => boolean)[] = [
    (d) => d.entry?.path === full,
    (d) => device.serial !== undefined && d.entry?.serial === device.serial,
    (d) => d.name === basename(device.path),
  ];
  for (const test of tests) {
    const hits = dumped.filter(test);
    if (hits.length > 1) throw new Refusal(`${device.path}: ${hits.length} dumps in ${dir} could be this disk's (${hits.map((h) => h.name).join(', ')})`);
    if (hits.length === 1) return hits[0]!;
  }
  if (dumped.length === 1 && devices.length === 1) return dumped[0]!;
  throw new Refusal(`${device.path}: no dump in ${dir} is this disk's (${dumped.map((d) => d.name).join(', ')})`);
}

/** The disk is the one dumped: same size, no other serial, and (unless named by the user) the same content. */
async function checkDisk(d: Dumped, device: WritableDevice, named: boolean, ctx: CommandContext): Promise<void> {
  if (d.sizeSectors !== undefined && d.sizeSectors !== device.sizeSectors) {
    throw new Refusal(`${device.path}: ${device.sizeSectors} sectors, but the disk dumped as ${d.name} had ${d.sizeSectors}: not the same disk`);
  }
  const entry = d.entry;
  if (!entry) return;
  if (entry.serial && device.serial && entry.serial !== device.serial) {
    throw new Refusal(`${device.path}: serial ${device.serial}, but the disk dumped as ${d.name} had serial ${entry.serial}`);
  }
  if (!entry.identity) return;
  const now = await identityAt(device, entry.identity.offsetBytes);
  if (now?.sha256 === entry.identity.sha256) return;
  const what = `${device.path}: the ${entry.identity.length} bytes at byte ${entry.identity.offsetBytes} differ from the disk dumped as ${d.name}`;
  if (!named) throw new Refusal(`${what}; name the device to restore to it anyway`);
  ctx.out.log('warning', what);
}

/** Each file read and checked against the manifest and the disk's size. */
async function filesOf(dir: string, d: Dumped, device: WritableDevice) {
  const writes: Target['writes'] = [];
  for (const f of d.files) {
    const path = join(dir, f.file);
    let data: Uint8Array;
    try {
      data = new Uint8Array(await fs.readFile(path));
    } catch (e) {
      throw new Refusal(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing from the dump' : (e as Error).message}`);
    }
    if (f.length !== undefined && data.length !== f.length) throw new Refusal(`${path}: ${data.length} bytes, the manifest says ${f.length}`);
    if (f.sha256 !== undefined && sha256(data) !== f.sha256) throw new Refusal(`${path}: its content is not what the manifest says (sha256 differs)`);
    if (f.offsetBytes + data.length > device.sizeSectors * SECTOR) {
      throw new Refusal(`${path}: ${data.length} bytes at byte ${f.offsetBytes} lie beyond the end of ${device.path}`);
    }
    writes.push({ file: path, offsetBytes: f.offsetBytes, data });
  }
  return writes;
}

/** The bytes about to be replaced, into a new folder beside the others of the format; its path. */
async function backupOf(ctx: CommandContext, targets: readonly Target[]): Promise<string> {
  const stamp = new Date().toISOString().replace(/[-:]/g, '');
  const format = targets[0]!.format;
  let dir = join(ctx.io.cwd, `dmraid.${format}`, `restore-backup-${stamp}`);
  for (let k = 2; await fs.stat(dir).then(() => true, () => false); k++) dir = join(ctx.io.cwd, `dmraid.${format}`, `restore-backup-${stamp}-${k}`);
  for (const t of targets) {
    for (const w of t.writes) {
      const old = await t.device!.read(w.offsetBytes, w.data.length);
      if (isIoError(old)) throw new Refusal(`reading ${t.path} at byte ${w.offsetBytes} for the backup: ${old.message}; nothing written`);
      const problem = await backupRange(dir, t.format, t.device!, ctx.io.cwd, w.offsetBytes, old);
      if (problem !== undefined) throw new Refusal(`keeping a backup of ${t.path} in ${dir}: ${problem}; nothing written`);
    }
  }
  return dir;
}

async function write(ctx: CommandContext, targets: readonly Target[]): Promise<boolean> {
  let ok = true;
  for (const t of targets) {
    const device = t.device!;
    for (const w of t.writes) {
      const result = await device.write(w.offsetBytes, w.data);
      // No further disk after a failed write: the backup holds what the ones before held.
      if (isIoError(result)) {
        ctx.out.log('error', `writing ${w.data.length} bytes to ${t.path} at byte ${w.offsetBytes}: ${result.message}`);
        return false;
      }
    }
    const synced = await device.sync();
    if (isIoError(synced)) {
      ctx.out.log('error', `syncing ${t.path}: ${synced.message}`);
      ok = false;
    }
    for (const w of t.writes) {
      const back = await device.read(w.offsetBytes, w.data.length);
      if (isIoError(back) || back.some((b, i) => b !== w.data[i])) {
        ctx.out.log('error', `metadata on ${t.path} at byte ${w.offsetBytes} reads back different from what was restored`);
        ok = false;
      }
    }
  }
  return ok;
}
