/**
 * -D (dump) and -E (erase): the only places the read-only commands touch files. An erase always dumps
 * first (the dump is the backup of what is erased), asks before each device unless --yes, and reads the
 * areas back to verify that they are zero.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { isIoError, SECTOR, writeAreas, type BlockDevice, type DumpFile, type FormatHandler, type Log, type RaidDevice, type WritableDevice } from '@dmraid/core';
import { claimRefusal, deviceClaims } from './claim.js';
import { confirm, type Io } from './context.js';

export async function dumpMetadata(rds: readonly RaidDevice[], handlers: ReadonlyMap<string, FormatHandler>, cwd: string, log: Log): Promise<boolean> {
  for (const rd of rds) {
    const handler = handlers.get(rd.format)!;
    const dir = join(cwd, `dmraid.${rd.format}`);
    const files = handler.dump
      ? await handler.dump(rd)
      : rd.areas.slice(0, 1).map((a) => ({ suffix: '', data: a.data, offsetBytes: a.offsetSectors * SECTOR }));
    try {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      const name = basename(rd.device.path);
      const base = join(dir, name);
      for (const f of files) {
        await fs.writeFile(`${base}${f.suffix}.dat`, f.data, { mode: 0o600 });
        if (f.offsetBytes !== undefined) await fs.writeFile(`${base}${f.suffix}.offset`, `${f.offsetBytes}\n`, { mode: 0o600 });
      }
      await fs.writeFile(`${base}.size`, `${rd.device.sizeSectors}\n`, { mode: 0o600 });
      await recordInManifest(dir, 'dump', rd.format, rd.device as BlockDevice, cwd, await restorable(rd, files, dir, name));
    } catch (e) {
      log('error', `${rd.format}: writing dump of ${rd.device.path} to ${dir}: ${(e as Error).message}`);
      return false;
    }
  }
  return true;
}

/**
 * What the manifest sends back where: each dump file that the disk holds at its offset, and the bytes of
 * every metadata area no such file covers, kept as `<name>-<offset>.dat` (a write's backup shape). dmraid's
 * files alone are not always that: sil files the i-th valid copy under the i-th position, and leaves out an
 * invalid copy that -E zeroes all the same.
 */
async function restorable(rd: RaidDevice, files: readonly DumpFile[], dir: string, name: string) {
  // Discovery's devices are block devices.
  const device = rd.device as BlockDevice;
  const placed: { file: string; offsetBytes: number; data: Uint8Array }[] = [];
  for (const f of files) {
    if (f.offsetBytes === undefined || f.data.length === 0) continue;
    const there = await device.read(f.offsetBytes, f.data.length);
    if (!isIoError(there) && Buffer.compare(there, f.data) === 0) placed.push({ file: `${name}${f.suffix}.dat`, offsetBytes: f.offsetBytes, data: f.data });
  }
  for (const area of rd.areas) {
    const at = area.offsetSectors * SECTOR;
    if (placed.some((p) => p.offsetBytes <= at && at + area.size <= p.offsetBytes + p.data.length)) continue;
    const data = await device.read(at, area.size);
    if (isIoError(data)) throw new Error(`reading ${device.path} at byte ${at}: ${data.message}`);
    const file = `${name}-${at}`;
    await fs.writeFile(join(dir, `${file}.dat`), data, { mode: 0o600 });
    await fs.writeFile(join(dir, `${file}.offset`), `${at}\n`, { mode: 0o600 });
    placed.push({ file: `${file}.dat`, offsetBytes: at, data });
  }
  return placed;
}

async function verifyErased(device: WritableDevice, rd: RaidDevice): Promise<boolean> {
  for (const area of rd.areas) {
    const back = await device.read(area.offsetSectors * SECTOR, area.size);
    if (isIoError(back) || back.some((b) => b !== 0)) return false;
  }
  return true;
}

/** -E: the dump (the backup), then the erase; every device claimed first, so a refused erase leaves nothing. */
export async function eraseMetadata(rds: readonly RaidDevice[], handlers: ReadonlyMap<string, FormatHandler>, io: Io, log: Log, yes: boolean): Promise<number> {
  // Claimed before the dump and the first question: none is erased under a live writer.
  const claims = deviceClaims(io.cwd);
  const taken = await claims.take(rds.map((rd) => rd.device.path));
  if (isIoError(taken)) {
    log('error', claimRefusal(taken));
    return 1;
  }
  try {
    if (!(await dumpMetadata(rds, handlers, io.cwd, log))) return 1;
    return await eraseClaimed(rds, handlers, io, log, yes);
  } finally {
    await claims.release();
  }
}

async function eraseClaimed(rds: readonly RaidDevice[], handlers: ReadonlyMap<string, FormatHandler>, io: Io, log: Log, yes: boolean): Promise<number> {
  let status = 0;
  for (const rd of rds) {
    const handler = handlers.get(rd.format)!;
    const question = `Do you really want to erase "${rd.format}" ondisk metadata on ${rd.device.path} ? [y/n] :`;
    if (!yes && !(await confirm(io, question))) continue;
    const device = rd.device as unknown as WritableDevice;
    const ctx = {
      format: handler.name,
      log,
      error: (text: string) => log('error', `${handler.name}: ${text}`),
      openWritable: async () => device,
    };
    let ok = false;
    try {
      ok = handler.write ? await handler.write(rd, device, ctx, true) : await writeAreas(device, rd.areas, ctx, true);
      ok = ok && !isIoError(await device.sync()) && (await verifyErased(device, rd));
    } catch (e) {
      log('error', `${handler.name}: ${(e as Error).message}`);
      ok = false;
    }
    if (!ok) {
      log('error', `erasing ondisk metadata on ${rd.device.path}`);
      status = 1;
    }
  }
  return status;
}

/**
 * Backup before a metadata write: the bytes about to be replaced on `device`, at `offsetBytes`, as
 * `<dir>/<device basename>-<offset>.dat` with a `.offset` file, entered in the folder's manifest
 * (`dmraid --restore <dir>` puts them back). `cwd`: what the device's path is relative to.
 */
export async function backupRange(dir: string, format: string, device: BlockDevice, cwd: string, offsetBytes: number, data: Uint8Array): Promise<string | undefined> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const file = `${basename(device.path)}-${offsetBytes}`;
    await fs.writeFile(join(dir, `${file}.dat`), data, { mode: 0o600 });
    await fs.writeFile(join(dir, `${file}.offset`), `${offsetBytes}\n`, { mode: 0o600 });
    await recordInManifest(dir, 'backup', format, device, cwd, [{ file: `${file}.dat`, offsetBytes, data }]);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

// ---- the manifest: which disk, which byte offset each .dat goes back to ----

/** The manifest's name in a dump or backup folder. */
export const MANIFEST = 'manifest.json';
export const MANIFEST_VERSION = 1;

/** A range of the disk hashed to tell it from another of the same size; never one the folder's files cover. */
export interface DiskIdentity {
  readonly offsetBytes: number;
  readonly length: number;
  readonly sha256: string;
}

export interface ManifestFile {
  /** Name of the .dat file in the folder. */
  readonly file: string;
  readonly offsetBytes: number;
  readonly length: number;
  readonly sha256: string;
}

export interface ManifestDevice {
  /** Absolute path of the device when the dump was made. */
  readonly path: string;
  readonly sizeSectors: number;
  readonly sectorSize: number;
  readonly serial?: string;
  readonly identity?: DiskIdentity;
  readonly files: ManifestFile[];
}

export interface DumpManifest {
  readonly version: typeof MANIFEST_VERSION;
  /** `dump` (-D, -E, a restore's backup) or `backup` (a metadata write's). */
  readonly kind: 'dump' | 'backup';
  readonly format: string;
  readonly devices: ManifestDevice[];
}

export const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

const IDENTITY_LENGTH = 4096;

/**
 * Where to hash a disk to recognise it: its first 4 KiB (the volume's partition table on a first member), or
 * the middle of the disk, whichever no file of the dump covers (so a restore cannot change it).
 */
function identityPlace(sizeBytes: number, files: readonly ManifestFile[]): number | undefined {
  const mid = Math.floor(sizeBytes / 2 / IDENTITY_LENGTH) * IDENTITY_LENGTH;
  return [0, mid].find((at) => at + IDENTITY_LENGTH <= sizeBytes && !files.some((f) => overlaps(f.offsetBytes, f.length, at, IDENTITY_LENGTH)));
}

const overlaps = (a: number, alen: number, b: number, blen: number) => a < b + blen && b < a + alen;

/** The disk's identity hash at `at`, undefined when it cannot be read. */
export async function identityAt(device: BlockDevice, at: number): Promise<DiskIdentity | undefined> {
  const data = await device.read(at, IDENTITY_LENGTH);
  return isIoError(data) ? undefined : { offsetBytes: at, length: IDENTITY_LENGTH, sha256: sha256(data) };
}

export async function readManifest(dir: string): Promise<DumpManifest | undefined | Error> {
  let text: string;
  try {
    text = await fs.readFile(join(dir, MANIFEST), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return e as Error;
  }
  try {
    const m = JSON.parse(text) as DumpManifest;
    if (m.version !== MANIFEST_VERSION) return new Error(`manifest version ${String(m.version)} is not ${MANIFEST_VERSION}`);
    if (!Array.isArray(m.devices)) return new Error('manifest has no devices');
    return m;
  } catch (e) {
    return new Error(`manifest is not JSON: ${(e as Error).message}`);
  }
}

/** Enter files just written to `dir` for `device` in the folder's manifest (a file of the same name replaced). */
async function recordInManifest(
  dir: string,
  kind: DumpManifest['kind'],
  format: string,
  device: BlockDevice,
  cwd: string,
  written: readonly { file: string; offsetBytes: number; data: Uint8Array }[],
): Promise<void> {
  const old = await readManifest(dir);
  // An unreadable manifest of an older run in the same folder is replaced: its files are being overwritten.
  const devices = old && !(old instanceof Error) ? old.devices : [];
  const path = resolve(cwd, device.path);
  const entry = devices.find((d) => d.path === path);
  const fresh = written.map((w) => ({ file: w.file, offsetBytes: w.offsetBytes, length: w.data.length, sha256: sha256(w.data) }));
  const files = [...(entry?.files ?? []).filter((f) => !fresh.some((n) => n.file === f.file)), ...fresh];
  let identity = entry?.sizeSectors === device.sizeSectors ? entry.identity : undefined;
  if (!identity || files.some((f) => overlaps(f.offsetBytes, f.length, identity!.offsetBytes, identity!.length))) {
    const at = identityPlace(device.sizeSectors * SECTOR, files);
    identity = at === undefined ? undefined : await identityAt(device, at);
  }
  const next: ManifestDevice = {
    path,
    sizeSectors: device.sizeSectors,
    sectorSize: device.sectorSize,
    ...(device.serial ? { serial: device.serial } : {}),
    ...(identity ? { identity } : {}),
    files,
  };
  const manifest: DumpManifest = { version: MANIFEST_VERSION, kind, format, devices: [...devices.filter((d) => d !== entry), next] };
  const temporary = join(dir, `.${MANIFEST}.${process.pid}`);
  await fs.writeFile(temporary, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  await fs.rename(temporary, join(dir, MANIFEST));
}
