/**
 * Writing metadata areas. Callers above (the CLI) keep a backup of what is replaced and read back to
 * verify; this is the one place that puts handler bytes on a device.
 */
import { isIoError, SECTOR, type WritableDevice } from '../device/device.js';
import type { MetadataArea, RaidDevice } from '../model/raid.js';
import type { WriteContext } from './context.js';

/** Write each area's bytes (zeros when erasing) at its sector offset. False after a reported error. */
export async function writeAreas(device: WritableDevice, areas: readonly MetadataArea[], ctx: WriteContext, erase: boolean): Promise<boolean> {
  for (const area of areas) {
    const data = erase ? new Uint8Array(area.size) : area.data;
    const result = await device.write(area.offsetSectors * SECTOR, data);
    if (isIoError(result)) {
      ctx.log('error', `writing metadata to ${device.path}, offset ${area.offsetSectors} sectors, size ${area.size} bytes: ${result.message}`);
      return false;
    }
    ctx.log('debug', `writing metadata to ${device.path}, offset ${area.offsetSectors} sectors, size ${area.size} bytes returned ${area.size}`);
  }
  return true;
}

/**
 * A handler's `write` when its metadata areas hold the bytes to put back (dmraid's write_metadata): every
 * area as read, or zeros with erase.
 */
export const writeMetadata = (rd: RaidDevice, device: WritableDevice, ctx: WriteContext, erase: boolean): Promise<boolean> =>
  writeAreas(device, rd.areas, ctx, erase);

/**
 * Zero every metadata area of each RAID device, each disk opened through the write context (its prompt,
 * backup and read-back): a set deleted as the BIOSes delete it. False after a reported error.
 */
export async function eraseMembers(rds: readonly RaidDevice[], ctx: WriteContext): Promise<boolean> {
  for (const rd of rds) if (!(await writeAreasTo(ctx, rd.device.path, rd.areas, true))) return false;
  return true;
}

/**
 * writeAreas on the disk at `path`, opened through the write context (its prompt, backup and read-back; a disk
 * that does not open is reported there). False after a reported error.
 */
export async function writeAreasTo(ctx: WriteContext, path: string, areas: readonly MetadataArea[], erase = false): Promise<boolean> {
  const dev = await ctx.openWritable(path);
  return dev !== undefined && writeAreas(dev, areas, ctx, erase);
}
