/** -n: dmraid's _isw_log, field by field; offsets are from the start of the MPB. */
import { hex, logLine, type RaidDevice } from '@dmraid/core';
import { UNKNOWN_SCSI_ID, iswDevLayout, iswDiskLayout, iswHeaderLayout, iswMapLayout, iswVolLayout, type IswDev } from './layout.js';
import { cStringAt } from './mpb.js';
import { NAME } from './names.js';
import type { IswMeta } from './probe.js';

export function iswLog(rd: RaidDevice<IswMeta>): string[] {
  const { mpb, diskIndex } = rd.meta;
  const buf = mpb.bytes;
  const h = mpb.header;
  const out: string[] = [`${rd.device.path} (${NAME}):`];
  const line = (off: number, text: string) => out.push(logLine(off, text));
  const str = (off: number, width: number) => `"${cStringAt(buf, off).padStart(width)}"`;
  line(0, `sig: ${str(0, 32)}`);
  for (const f of ['check_sum', 'mpb_size', 'family_num', 'generation_num', 'error_log_size', 'attributes', 'num_disks', 'num_raid_devs', 'error_log_pos', 'cache_size', 'orig_family_num', 'power_cycle_count', 'bbm_log_size'] as const) {
    line(iswHeaderLayout.offsetOf(f), `${f}: ${h[f]}`);
  }
  h.filler.forEach((x, i) => x && line(iswHeaderLayout.offsetOf('filler') + 4 * i, `filler[${i}]: ${x}`));
  mpb.disks.forEach(({ offset, disk }, d) => {
    if (!disk.totalBlocks) return;
    const at = (f: keyof typeof disk) => offset + iswDiskLayout.offsetOf(f);
    line(offset, `disk[${d}].serial: ${str(offset, 16)}`);
    line(at('totalBlocks'), `disk[${d}].totalBlocks: ${disk.totalBlocks}`);
    // dmraid overwrites the matching entry's scsiId with the device's SCSI address (none for images).
    line(at('scsiId'), `disk[${d}].scsiId: ${hex(d === diskIndex ? UNKNOWN_SCSI_ID : disk.scsiId)}`);
    line(at('status'), `disk[${d}].status: ${hex(disk.status)}`);
    line(at('owner_cfg_num'), `disk[${d}].owner_cfg_num: ${hex(disk.owner_cfg_num)}`);
    disk.filler.forEach((x, i) => x && line(at('filler') + 4 * i, `disk[${d}].filler[${i}]: ${x}`));
  });
  mpb.volumes.forEach((v, d) => {
    const dev = v.dev;
    const at = (f: keyof IswDev) => v.offset + iswDevLayout.offsetOf(f);
    const p = `isw_dev[${d}]`;
    line(v.offset, `${p}.volume: ${str(v.offset, 16)}`);
    line(at('SizeHigh'), `${p}.SizeHigh: ${dev.SizeHigh}`);
    line(at('SizeLow'), `${p}.SizeLow: ${dev.SizeLow}`);
    line(at('status'), `${p}.status: ${hex(dev.status)}`);
    for (const f of ['reserved_blocks', 'migr_priority', 'num_sub_vol', 'tid', 'cng_master_disk', 'cache_policy', 'cng_state', 'cng_sub_state'] as const) {
      line(at(f), `${p}.${f}: ${dev[f]}`);
    }
    dev.filler.forEach((x, i) => x && line(at('filler') + 4 * i, `${p}.filler[${i}]: ${x}`));
    const vol = at('vol');
    for (const f of ['curr_migr_unit', 'check_point_id', 'migr_state', 'migr_type', 'dirty', 'fs_state', 'verify_errors', 'verify_bad_blocks'] as const) {
      line(vol + iswVolLayout.offsetOf(f), `${p}.vol.${f}: ${dev.vol[f]}`);
    }
    dev.vol.filler.forEach((x, i) => x && line(vol + iswVolLayout.offsetOf('filler') + 4 * i, `${p}.vol.filler[${i}]: ${x}`));
    v.maps.forEach(({ offset, map, ord }, k) => {
      const q = `${p}.vol.map[${k}]`;
      for (const f of ['pba_of_lba0', 'blocks_per_member', 'num_data_stripes', 'blocks_per_strip', 'map_state', 'raid_level', 'num_members', 'num_domains', 'failed_disk_num', 'ddf'] as const) {
        line(offset + iswMapLayout.offsetOf(f), `${q}.${f}: ${map[f]}`);
      }
      map.filler.forEach((x, i) => x && line(offset + iswMapLayout.offsetOf('filler') + 4 * i, `${q}.filler[${i}]: ${x}`));
      ord.forEach((x, i) => line(offset + 0x30 + 4 * i, `${q}.disk_ord_tbl[${i}]: ${hex(x)}`));
    });
  });
  return out;
}
