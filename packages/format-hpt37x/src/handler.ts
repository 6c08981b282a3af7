/**
 * Highpoint HPT37x: single disk, span, RAID0, RAID1 and the two RAID0+1 halves (type 2: stripe sets
 * mirrored, type 7: mirror sets striped). Facts from dmraid's hpt37x.c: metadata in sector 9, data from
 * sector 0 on disk 0 and sector 10 elsewhere, set id magic_1 (else magic_0), spares (magic_0 == 0) never
 * grouped.
 */
import { blockReader, defineFormat, fieldLines, mkAlpha, writeMetadata, type RaidDevice, type RaidSet, type RaidType } from '@dmraid/core';
import {
  HPT37X_CONFIG_SECTOR,
  HPT37X_DATA_OFFSET,
  HPT37X_MAGIC_BAD,
  HPT37X_MAGIC_OK,
  HPT37X_MAX_DISKS,
  HPT37X_T_RAID0,
  HPT37X_T_RAID01_RAID0,
  HPT37X_T_RAID01_RAID1,
  HPT37X_T_RAID1,
  HPT37X_T_SINGLEDISK,
  HPT37X_T_SPAN,
  hpt37xErrorLogLayout,
  hpt37xLayout,
  type Hpt37x,
} from './layout.js';
import { createHpt37x } from './create.js';

const NAME = 'hpt37x';

const stride = (shift: number) => (shift ? 1 << shift : 0);

function raidType(hpt: Hpt37x): RaidType {
  if (hpt.magic_0 === 0) return 'spare';
  switch (hpt.type) {
    case HPT37X_T_SINGLEDISK:
    case HPT37X_T_SPAN:
      return 'linear';
    case HPT37X_T_RAID0:
    case HPT37X_T_RAID01_RAID0:
      return 'raid0';
    case HPT37X_T_RAID1:
    case HPT37X_T_RAID01_RAID1:
      return 'raid1';
    default:
      return 'undef';
  }
}

const isRaid01Part = (hpt: Hpt37x) => hpt.type === HPT37X_T_RAID01_RAID0 || hpt.type === HPT37X_T_RAID01_RAID1;

/**
 * `hpt37x_<id>` or, for a RAID0+1 part, `hpt37x_<id>-<order>`. dmraid letters all but the last two
 * characters of the suffixed text, so a multi-digit order has its leading digits lettered too.
 */
export function setName(hpt: Hpt37x, subset: boolean): string {
  if (!hpt.magic_0) return 'hpt37x_SPARE';
  const id = String(hpt.magic_1 || hpt.magic_0);
  if (!subset || !isRaid01Part(hpt)) return `hpt37x_${mkAlpha(id)}`;
  const text = `${id}-${hpt.order}`;
  return `hpt37x_${mkAlpha(text.slice(0, -2))}${text.slice(-2)}`;
}

function dataSectors(type: RaidType, hpt: Hpt37x, deviceSectors: number, offset: number): number {
  let sectors: number;
  if (type === 'raid0') sectors = Math.floor(hpt.total_secs / (hpt.raid_disks || 1));
  else if (type === 'raid1') sectors = hpt.total_secs;
  else sectors = deviceSectors;
  const length = sectors - offset;
  // dmraid subtracts in unsigned 64-bit arithmetic: a member shorter than the offset wraps to a huge length
  // (never the smallest of a set, never zero). A number keeps that only approximately: -r shows its last
  // digits rounded, set sizes come out as dmraid's.
  return length < 0 ? 2 ** 64 + length : length;
}

const meta = (rd: RaidDevice) => rd.meta as Hpt37x;
const firstMember = (set: RaidSet) => meta(set.devs[0]!);

export const hpt37x = defineFormat<Hpt37x>({
  apiVersion: 1,
  name: NAME,
  description: 'Highpoint HPT37X',
  levels: 'S,0,1,10,01',

  read: blockReader({
    layout: hpt37xLayout,
    at: { sector: HPT37X_CONFIG_SECTOR },
    identifiedBy: ['magic', 'disk_number'],
    isOurs: (hpt) => (hpt.magic === HPT37X_MAGIC_OK || hpt.magic === HPT37X_MAGIC_BAD) && hpt.disk_number < HPT37X_MAX_DISKS,
    member: ({ meta: hpt }, device) => {
      const type = raidType(hpt);
      const offset = hpt.disk_number ? HPT37X_DATA_OFFSET : 0;
      return {
        name: setName(hpt, true),
        type,
        status: hpt.magic === HPT37X_MAGIC_BAD ? 'broken' : 'ok',
        offset,
        sectors: dataSectors(type, hpt, device.sizeSectors, offset),
      };
    },
  }),

  // Not placeMember: dmraid checks the set id against the set's first member after inserting the new one
  // and before linking the set anywhere, so a mismatch leaves the member in a set that is then removed.
  group(rd, ctx) {
    if (rd.type === 'spare') return undefined;
    const hpt = meta(rd);
    const set = ctx.findOrCreateSet(rd.name, rd);
    if (!ctx.initSet(set, rd, stride(hpt.raid0_shift), hpt.type)) return undefined;
    ctx.addDevice(set, rd, (a, b) => meta(a).disk_number < meta(b).disk_number);
    const part = isRaid01Part(hpt);
    const first = firstMember(set);
    if (part ? first.magic_1 !== hpt.magic_1 : first.magic_0 !== hpt.magic_0) {
      ctx.error(`magic_${part ? 1 : 0} mismatch on ${rd.device.path}`);
      return undefined;
    }
    if (!part) {
      ctx.addTopLevel(set);
      return set;
    }
    return ctx.joinSuperset(
      setName(hpt, false),
      set,
      rd,
      (superset) => {
        superset.type = hpt.type === HPT37X_T_RAID01_RAID0 ? 'raid1' : 'raid0';
        superset.stride = stride(hpt.raid0_shift);
      },
      (a, b) => firstMember(a).order < firstMember(b).order,
    );
  },

  check(set, ctx) {
    // dmraid trusts a mirror member with the right count even if its magic says bad.
    return ctx.checkRaidSet(set, {
      devices: (rd) => meta(rd).raid_disks,
      member: (_set, rd) => rd.type === 'raid1',
    });
  },

  log(rd) {
    const hpt = meta(rd);
    const lines = [
      `${rd.device.path} (${NAME}):`,
      ...fieldLines(hpt37xLayout, hpt, {
        magic: 'x',
        magic_0: 'x',
        magic_1: 'x',
        disk_mode: 'x',
        boot_mode: 'x',
        errorlog: 'skip',
      }),
    ];
    if (hpt.error_log_entries) lines.push('error_log:');
    // dmraid walks the entries until an empty timestamp whatever error_log_entries says.
    const base = hpt37xLayout.offsetOf('errorlog');
    for (const [i, entry] of hpt.errorlog.entries()) {
      if (!entry.timestamp) break;
      lines.push(...fieldLines(hpt37xErrorLogLayout, entry, {}, base + i * hpt37xErrorLogLayout.size));
    }
    return lines;
  },

  write: writeMetadata,
  create: createHpt37x,
});
