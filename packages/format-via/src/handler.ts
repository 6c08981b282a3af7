/**
 * VIA V-RAID: span, RAID0, RAID1 and RAID0+1 (dmraid: a mirror of two stripe sets, shown `raid10`).
 * Facts from dmraid's via.c: metadata in the last sector, data from sector 0 up to it, set id = sum of the
 * per-disk serial checksums plus disk_array_ex. There are no spares: RAID1's "spare" role is a member.
 */
import {
  blockReader,
  defineFormat,
  fieldLines,
  logLine,
  placeMember,
  writeMetadata,
  type Before,
  type RaidDevice,
  type RaidSet,
  type RaidStatus,
  type RaidType,
} from '@dmraid/core';
import {
  VIA_END_OFFSET,
  VIA_SIGNATURE,
  VIA_T_RAID0,
  VIA_T_RAID01,
  VIA_T_RAID1,
  VIA_T_SPAN,
  raid01Dirty,
  raid01Mirror,
  raid1Role,
  raidIndex,
  viaArrayLayout,
  viaChecksum,
  viaDiskBits,
  viaLayout,
  viaRaidDisks,
  viaStride,
  type Via,
  type ViaDisk,
} from './layout.js';
import { createVia } from './create.js';
import { setName } from './names.js';

export { setName };

const NAME = 'via';

const meta = (rd: RaidDevice) => rd.meta as Via;
const disk = (rd: RaidDevice) => viaDiskBits(meta(rd).array.disk);

function raidType(bits: ViaDisk): RaidType {
  switch (bits.raid_type) {
    case VIA_T_SPAN:
      return 'linear';
    case VIA_T_RAID0:
    case VIA_T_RAID01: // a stripe set; the mirror above it is the superset
      return 'raid0';
    case VIA_T_RAID1:
      return 'raid1';
    default:
      return 'undef';
  }
}

function status(bits: ViaDisk): RaidStatus {
  if (bits.tolerance) return 'broken';
  return bits.in_disk_array ? 'ok' : 'undef';
}


/** Members a set expects: a mirror always two, otherwise the disk count (per half for RAID0+1). */
export const expectedDevices = (via: Via) => (viaDiskBits(via.array.disk).raid_type === VIA_T_RAID1 ? 2 : viaRaidDisks(via));

/** RAID1: the source disk goes first, the others follow in arrival order; else by member index. */
const devSort: Before<RaidDevice> = (added, existing) => {
  const a = disk(added);
  const e = disk(existing);
  return e.raid_type === VIA_T_RAID1 ? raid1Role(a.raid_type_info) === 0 : raidIndex(a.raid_type_info) < raidIndex(e.raid_type_info);
};

const byMirror: Before<RaidSet> = (a, b) => raid01Mirror(disk(a.devs[0]!).raid_type_info) < raid01Mirror(disk(b.devs[0]!).raid_type_info);

/**
 * The per-member check: a member must have the array index and RAID type of the set it was grouped into
 * (its first member). dmraid 1.0.0.rc16 compares each field of the member with itself, so every member
 * passes; the error messages are dmraid's.
 */
function memberConsistent(set: RaidSet, rd: RaidDevice, error: (text: string) => void): boolean {
  const first = set.devs[0];
  if (!first) return true;
  const bits = disk(rd);
  const want = disk(first);
  if (bits.array_index !== want.array_index) {
    error(`array index wrong on ${rd.device.path} for set "${set.name}"`);
    return false;
  }
  if (bits.raid_type !== want.raid_type) {
    error(`RAID type wrong on ${rd.device.path} for set "${set.name}"`);
    return false;
  }
  return true;
}

/** `-n` lines of the bit field, all at its offset, in dmraid's order (with its three derived views). */
function diskLines(bits: ViaDisk, offset: number): string[] {
  const values: [string, number][] = [
    ['bootable', bits.bootable],
    ['enable_enhanced', bits.enable_enhanced],
    ['in_disk_array', bits.in_disk_array],
    ['raid_type', bits.raid_type],
    ['array_index', bits.array_index],
    ['raid_type_info', bits.raid_type_info],
    ['raid_type_info(INDEX)', raidIndex(bits.raid_type_info)],
    ['raid_type_info(MIRROR)', raid01Mirror(bits.raid_type_info)],
    ['raid_type_info(DIRTY)', raid01Dirty(bits.raid_type_info)],
    ['tolerance', bits.tolerance],
  ];
  return values.map(([label, v]) => logLine(offset, `array.disk.${label}: ${v}`));
}

/** fieldLines of a nested structure, its labels prefixed with the member path (`array.`). */
function nestedLines(lines: string[], prefix: string): string[] {
  return lines.map((l) => `${l.slice(0, 6)}${prefix}${l.slice(6)}`);
}

export const via = defineFormat<Via>({
  apiVersion: 1,
  name: NAME,
  description: 'VIA Software RAID',
  levels: 'S,0,1,10',

  read: blockReader({
    layout: viaLayout,
    at: { fromEnd: VIA_END_OFFSET },
    identifiedBy: ['signature'],
    isOurs: (v) => v.signature === VIA_SIGNATURE,
    checksum: { valid: (v, raw) => viaChecksum(raw) === v.checksum, message: 'invalid checksum' },
    member: ({ meta: v, sector }, _device, ctx) => {
      if (v.version_number > 1) {
        ctx.log('info', `${NAME}: version ${v.version_number}; format handler specified for version 0+1 only`);
      }
      const bits = viaDiskBits(v.array.disk);
      return { name: setName(v, true), type: raidType(bits), status: status(bits), sectors: sector };
    },
  }),

  group(rd, ctx) {
    if (rd.type === 'spare') return undefined;
    const v = meta(rd);
    const bits = viaDiskBits(v.array.disk);
    return placeMember(ctx, rd, {
      stride: viaStride(v),
      rawType: bits.raid_type,
      before: devSort,
      superset:
        bits.raid_type === VIA_T_RAID01
          ? {
              name: setName(v, false),
              init: (s) => {
                s.type = 'raid1';
                s.stride = viaStride(v);
              },
              before: byMirror,
            }
          : undefined,
    });
  },

  check(set, ctx) {
    return ctx.checkRaidSet(set, {
      devices: (rd) => expectedDevices(meta(rd)),
      member: (s, rd) => memberConsistent(s, rd, ctx.error),
    });
  },

  log(rd) {
    const v = meta(rd);
    const top = fieldLines(viaLayout, v, { signature: 'x', array: 'skip' });
    const base = viaLayout.offsetOf('array');
    return [
      `${rd.device.path} (${NAME}):`,
      ...top.slice(0, 2),
      ...diskLines(viaDiskBits(v.array.disk), base + viaArrayLayout.offsetOf('disk')),
      ...nestedLines(fieldLines(viaArrayLayout, v.array, { disk: 'skip', disk_array_ex: 'x' }, base), 'array.'),
      ...top.slice(2),
    ];
  },

  write: writeMetadata,
  create: createVia,
});
