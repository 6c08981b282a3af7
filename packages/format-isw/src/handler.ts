/**
 * Intel Software RAID (IMSM): RAID0, RAID1, RAID10 (shown as raid01), RAID5 (raid5_la), spares, up to
 * two volumes ("Matrix") per disk group. Facts from dmraid's isw.c as the Debian rc16 binary behaves
 * (formats.md §8): probes at N-2, the $GAFR HPA pointer and N-2115 (probe.ts); disks matched by serial
 * (names.ts); one group set per family holding the disks, one set (or raid0-of-raid1 superset) per volume
 * inside it (volumes.ts); -n (log.ts); the writing commands and the monitor's failure record (ops.ts over
 * writer.ts).
 */
import { allDevices, defineFormat, writeAreas, type FormatHandlerV1, type RaidDevice } from '@dmraid/core';
import { iswLog } from './log.js';
import { NAME } from './names.js';
import { createSet, failedMember, makeSpare, rebuildSet, rebuiltSet, removeSet } from './ops.js';
import { readDisk, type IswMeta } from './probe.js';
import { checkGroup, groupDisk, groupVolume, staleMembers, volumeDevices } from './volumes.js';

export type { IswMeta } from './probe.js';

const meta = (rd: RaidDevice) => rd.meta as IswMeta;

export const isw: FormatHandlerV1<IswMeta> = defineFormat<IswMeta>({
  apiVersion: 1,
  name: NAME,
  description: 'Intel Software RAID',
  levels: '0,1,5,01',
  sectorSizes: [512, 4096],

  async read(device, ctx) {
    const disk = await readDisk(device, ctx);
    return disk ? [disk, ...volumeDevices(disk)] : [];
  },

  // Core groups the volumes a disk carries right after the disk, into the group the disk joined.
  group: (rd, ctx) => (rd.volumeOf ? groupVolume(rd, ctx) : groupDisk(rd, ctx)),

  check: checkGroup,

  log: iswLog,

  stale: staleMembers,

  dump(rd) {
    // An MPB longer than what is kept has two areas (probe.ts): a file each.
    if (rd.areas.length > 1) return rd.areas.map((a, k) => ({ suffix: `_${k}`, data: a.data, offsetBytes: a.offsetSectors * 512 }));
    const area = rd.areas[0]!;
    return [{ suffix: '', data: area.data, offsetBytes: area.offsetSectors * 512 }];
  },

  async write(rd, device, ctx, erase) {
    return writeAreas(device, rd.areas, ctx, erase);
  },

  create: (request, ctx) => createSet(request, ctx),
  spare: (device, set, ctx) => makeSpare(device, set, ctx),
  rebuild: (set, device, ctx) => rebuildSet(set, device, ctx),
  rebuilt: (set, device, ctx) => rebuiltSet(set, device, ctx),
  failed: (set, device, ctx) => failedMember(set, device, ctx),
  remove: (set, ctx) => removeSet(set, ctx),

  canActivate(set, ctx) {
    const first = allDevices(set)[0];
    if (first && meta(first).mpb.header.bbm_log_size !== 0) {
      ctx.log('error', 'BBM entries detected!');
      return false;
    }
    return true;
  },
});
