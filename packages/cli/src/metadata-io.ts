/**
 * -D (dump) and -E (erase): the only places the read-only commands touch files. An erase always dumps
 * first (the dump is the backup of what is erased), asks before each device unless --yes, and reads the
 * areas back to verify that they are zero.
 */
import { promises as fs } from 'node:fs';
import { basename, join } from 'node:path';
import { isIoError, SECTOR, writeAreas, type FormatHandler, type Log, type RaidDevice, type WritableDevice } from '@dmraid/core';
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
      const base = join(dir, basename(rd.device.path));
      for (const f of files) {
        await fs.writeFile(`${base}${f.suffix}.dat`, f.data, { mode: 0o600 });
        if (f.offsetBytes !== undefined) await fs.writeFile(`${base}${f.suffix}.offset`, `${f.offsetBytes}\n`, { mode: 0o600 });
      }
      await fs.writeFile(`${base}.size`, `${rd.device.sizeSectors}\n`, { mode: 0o600 });
    } catch (e) {
      log('error', `${rd.format}: writing dump of ${rd.device.path} to ${dir}: ${(e as Error).message}`);
      return false;
    }
  }
  return true;
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
 * Backup before a metadata write: the bytes about to be replaced on `path`, at `offsetBytes`, as
 * `<dir>/<device basename>-<offset>.dat` with a `.offset` file (restore: dd seek=offset/512).
 */
export async function backupRange(dir: string, path: string, offsetBytes: number, data: Uint8Array): Promise<string | undefined> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const base = join(dir, `${basename(path)}-${offsetBytes}`);
    await fs.writeFile(`${base}.dat`, data, { mode: 0o600 });
    await fs.writeFile(`${base}.offset`, `${offsetBytes}\n`, { mode: 0o600 });
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
