/**
 * JMicron ATARAID: JBOD, RAID0, RAID1 and RAID 0+1 (a stripe over mirrored pairs). Facts from dmraid's
 * jm.c as released in 1.0.0.rc16 (2009): metadata in the last sector, data from segment.base for
 * range·32 MiB + range2 sectors, set name from the label, member order from the member table.
 */
import {
  cString,
  defineFormat,
  equalBytes,
  fieldLines,
  latin1,
  writeAreas,
  type BlockDevice,
  type RaidDevice,
  type RaidType,
} from '@dmraid/core';
import {
  JM_ATTRIBUTES_OK,
  JM_END_OFFSET,
  JM_HDD_MASK,
  JM_MEMBERS,
  JM_SIGNATURE,
  JM_T_JBOD,
  JM_T_RAID0,
  JM_T_RAID01,
  JM_T_RAID1,
  jmChecksum,
  jmLayout,
  type Jm,
} from './layout.js';

const NAME = 'jmicron';

/** What a RAID device of this handler keeps: the decoded block and its label as C's `%s` reads it. */
export interface JmMeta {
  readonly jm: Jm;
  /** dmraid prints the 16-byte label with `%s`: an unterminated one runs on into the following fields. */
  readonly label: string;
}

function raidType(jm: Jm): RaidType {
  switch (jm.mode) {
    case JM_T_JBOD:
      return 'linear';
    case JM_T_RAID0:
      return 'raid0';
    case JM_T_RAID1:
    case JM_T_RAID01:
      return 'raid1';
    default:
      return 'undef';
  }
}

/** This disk's index in the member table (the last match), -1 when it is not listed. */
export function memberIndex(jm: Jm): number {
  const disk = (m: number) => (m & JM_HDD_MASK) >>> 0;
  for (let i = JM_MEMBERS - 1; i >= 0; i--) if (disk(jm.member[i]!) === disk(jm.identity)) return i;
  return -1;
}

/** jm.c's stride: 2^(block+1) sectors, with C's shift and unsigned wrap-around. */
const stride = (block: number) => (1 << ((block + 1) & 31)) >>> 0;

/** range counts 32 MiB units; the product wraps at 32 bits as the C expression does. */
const dataSectors = (jm: Jm) => ((jm.range * 65536) % 0x100000000 + jm.range2) % 0x100000000;

/** `jmicron_<label>`; a RAID 0+1 member's own set (a mirrored pair) adds `-<pair>`. */
export function setName(m: JmMeta, subset: boolean): string {
  const pair = m.jm.mode === JM_T_RAID01 && subset ? `-${Math.trunc(memberIndex(m.jm) / 2) | 0}` : '';
  return `${NAME}_${m.label}${pair}`;
}

/** Members expected: up to the last used entry of the member table. */
function devices(jm: Jm): number {
  let r = JM_MEMBERS;
  while (r-- > 0 && !jm.member[r]);
  return r + 1;
}

const meta = (rd: RaidDevice) => rd.meta as JmMeta;

export const jmicron = defineFormat<JmMeta>({
  apiVersion: 1,
  name: NAME,
  description: 'JMicron ATARAID',
  levels: 'S,0,1',

  async read(device: BlockDevice, ctx) {
    const metaSector = device.sizeSectors - JM_END_OFFSET;
    const raw = await ctx.read(device, metaSector * 512, jmLayout.size);
    if (!raw) return [];
    const jm = jmLayout.decodeFrom(raw);
    const sum = jmChecksum(raw);
    if (!equalBytes(jm.signature, JM_SIGNATURE) || (sum !== 0 && sum !== 1)) return [];
    const sectors = dataSectors(jm);
    if (!sectors) {
      ctx.error(`zero sectors on ${device.path}`);
      ctx.setupFailed(device);
      return [];
    }
    const m: JmMeta = { jm, label: cString(raw.subarray(jmLayout.offsetOf('name'))) };
    return [
      {
        device,
        format: NAME,
        name: setName(m, true),
        type: raidType(jm),
        status: jm.attribute & ~JM_ATTRIBUTES_OK ? 'broken' : 'ok',
        offset: jm.base,
        sectors,
        areas: [{ offsetSectors: metaSector, size: jmLayout.size, data: raw }],
        meta: m,
      },
    ];
  },

  group(rd, ctx) {
    const { jm } = meta(rd);
    const set = ctx.findOrCreateSet(rd.name, rd);
    if (!ctx.initSet(set, rd, stride(jm.block), jm.mode)) return undefined;
    ctx.addDevice(set, rd, (a, b) => memberIndex(meta(a).jm) < memberIndex(meta(b).jm));
    if (jm.mode !== JM_T_RAID01) {
      ctx.addTopLevel(set);
      return set;
    }
    return ctx.joinSuperset(
      setName(meta(rd), false),
      set,
      rd,
      (superset) => {
        superset.type = 'raid0';
        superset.stride = stride(jm.block);
      },
      // jm.c's set_sort: a pair goes before any pair whose first member is past the first two entries.
      (_added, existing) => memberIndex(meta(existing.devs[0]!).jm) > 1,
    );
  },

  check(set, ctx) {
    return ctx.checkRaidSet(set, { devices: (rd) => devices(meta(rd).jm) });
  },

  log(rd) {
    const { jm, label } = meta(rd);
    return [
      `${rd.device.path} (${NAME}):`,
      ...fieldLines(jmLayout, jm, {
        signature: (v: Uint8Array) => latin1(v),
        version: (v: number) => `${v >> 8}${v & 0xff}`,
        identity: 'x',
        name: () => `"${label}"`,
        spare: 'x',
        member: 'x',
        // jm.c labels the mode line "name" too.
      }).map((line) => line.replace(/^0x030 mode:/, '0x030 name:')),
    ];
  },

  async write(rd, device, ctx, erase) {
    const data = jmLayout.encodeToBytes(meta(rd).jm);
    return writeAreas(device, rd.areas.map((a) => ({ ...a, data })), ctx, erase);
  },
});
