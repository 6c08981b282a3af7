/**
 * NVIDIA MediaShield: JBOD, RAID0, RAID1, RAID1+0 (a mirror of two stripe sets) and RAID5 (left-symmetric).
 * Facts from dmraid's nv.c: metadata at N-2, data from sector 0 to the metadata, set id = sum of the four
 * signature dwords, spares grouped into their set.
 */
import {
  blockReader,
  countDevs,
  cString,
  defineFormat,
  fieldLines,
  hex,
  latin1,
  logLine,
  mkAlpha,
  nullLog,
  readContext,
  writeMetadata,
  type Before,
  type BlockDevice,
  type ReadContext,
  type RaidDevice,
  type RaidSet,
  type RaidStatus,
  type RaidType,
} from '@dmraid/core';
import {
  NV_ARRAY_FLAG_ERROR,
  NV_END_OFFSET,
  NV_ID_STRING,
  NV_IDLE,
  NV_LEVEL_0,
  NV_LEVEL_1,
  NV_LEVEL_1_0,
  NV_LEVEL_10,
  NV_LEVEL_3,
  NV_LEVEL_5_SYM,
  NV_LEVEL_JBOD,
  NV_LEVEL_UNKNOWN,
  NV_SCDB_INIT_RAID,
  NV_SCDB_REBUILD_RAID,
  NV_SCDB_SYNC_RAID,
  NV_SCDB_UPGRADE_RAID,
  nvArrayLayout,
  nvChecksumOk,
  nvLayout,
  type Nv,
} from './layout.js';
import { createNvidia } from './create.js';
import { isRedundant, recordFailed, staleMembers } from './failed.js';
import { makeSpare, rebuildingReason, rebuildSet, rebuiltSet, removeSet } from './ops.js';

const NAME = 'nvidia';

const meta = (rd: RaidDevice) => rd.meta as Nv;

/**
 * Members the array is built from, as dmraid's type() reckons it in 8-bit arithmetic: stripeWidth counts
 * one half of a mirror and leaves out RAID5's parity disk.
 */
export function dataWidth(nv: Nv): number {
  const { raidLevel, stripeWidth } = nv.array;
  if (raidLevel === NV_LEVEL_1_0 || raidLevel === NV_LEVEL_10 || raidLevel === NV_LEVEL_1) return (stripeWidth * 2) & 0xff;
  if (raidLevel === NV_LEVEL_5_SYM) return (stripeWidth + 1) & 0xff;
  return stripeWidth;
}

function raidType(nv: Nv): RaidType {
  const width = dataWidth(nv);
  if (nv.array.totalVolumes >= width && nv.unitNumber >= width) return 'spare';
  switch (nv.array.raidLevel) {
    case NV_LEVEL_JBOD:
      return 'linear';
    case NV_LEVEL_0:
    case NV_LEVEL_1_0: // a stripe set; the mirror above it is the superset
      return 'raid0';
    case NV_LEVEL_1:
      return 'raid1';
    case NV_LEVEL_3:
      return 'raid4';
    case NV_LEVEL_5_SYM:
      return 'raid5_ls';
    case NV_LEVEL_UNKNOWN:
      return 'spare';
    default:
      return 'undef';
  }
}

/**
 * The member's state. dmraid 1.0.0.rc16 always says ok unless the error flag is set: its lookup table
 * starts with the key 0 (idle), which its lookup loop treats as the end. Here the table is applied as meant:
 * initialising or synchronising → nosync, rebuilding or upgrading → inconsistent. The error flag says the
 * array is degraded or offline (nv.h): a member of a redundant array carrying it holds current data of a
 * degraded array (inconsistent, as dmraid calls a degraded mirror); dmraid reads it as the member broken.
 */
export function status(nv: Nv): RaidStatus {
  if (nv.array.flags & NV_ARRAY_FLAG_ERROR) return isRedundant(nv) ? 'inconsistent' : 'broken';
  switch (nv.array.raidJobCode) {
    case NV_IDLE:
      return 'ok';
    case NV_SCDB_INIT_RAID:
    case NV_SCDB_SYNC_RAID:
      return 'nosync';
    case NV_SCDB_REBUILD_RAID:
    case NV_SCDB_UPGRADE_RAID:
      return 'inconsistent';
    default:
      return 'undef';
  }
}

/** Which half of a RAID 1+0 a member belongs to. */
const half = (nv: Nv) => (nv.unitNumber >= nv.array.stripeWidth ? 1 : 0);

export function setName(nv: Nv, subset: boolean): string {
  const sum = nv.array.signature.reduce((s, x) => (s + x) >>> 0, 0);
  const base = `${NAME}_${mkAlpha(sum.toString(16).padStart(8, '0'))}`;
  return subset && nv.array.raidLevel === NV_LEVEL_1_0 ? `${base}-${half(nv)}` : base;
}

/**
 * Non-spare members a set expects. dmraid counts totalVolumes, which includes the hot spares, so every set
 * with a spare came out "wrong # of devices"; the spares are left out here (totalVolumes beyond the data
 * width are spares, see raidType).
 */
export function expectedDevices(nv: Nv): number {
  const members = Math.min(nv.array.totalVolumes, dataWidth(nv));
  return nv.array.raidLevel === NV_LEVEL_1_0 ? Math.floor(members / 2) : members;
}

/**
 * A RAID5 one member short still holds all its data (the missing member is the XOR of the others), so it is
 * kept degraded (inconsistent) as the other formats keep theirs; dmraid removes it. Only while the members
 * present are themselves in step: an initialising RAID5 (nosync) has no parity to rebuild from. With the
 * count right, the member keeps its own status (this rule would make it ok).
 */
function keepsDegradedRaid5(set: RaidSet, rd: RaidDevice): boolean {
  if (meta(rd).array.raidLevel !== NV_LEVEL_5_SYM) return false;
  if (countDevs(set, 'dev') !== expectedDevices(meta(rd)) - 1) return false;
  return rd.status === 'ok' || rd.status === 'inconsistent';
}

const byUnit: Before<RaidDevice> = (a, b) => meta(a).unitNumber < meta(b).unitNumber;
const byHalf: Before<RaidSet> = (a, b) => half(meta(a.devs[0]!)) < half(meta(b.devs[0]!));

/** `%*s` of the vendor field: a C string that runs on past the 8 bytes until a NUL, right-aligned in 8. */
function vendorText(raw: Uint8Array): string {
  return cString(raw).padStart(8, ' ');
}

/** dmraid prints the last four array fields without a colon. */
const NO_COLON = new Set(['raidJobMark', 'originalLevel', 'originalCapacity']);

function arrayLines(nv: Nv): string[] {
  const base = nvLayout.offsetOf('array');
  const lines: string[] = [];
  for (const f of nvArrayLayout.fields) {
    const value = nv.array[f.name as keyof Nv['array']];
    const label = `array->${f.name}`;
    if (Array.isArray(value)) {
      value.forEach((v, i) => lines.push(logLine(base + f.offset + i * 4, `${label}[${i}]: ${v}`)));
    } else if (f.name === 'flags') lines.push(logLine(base + f.offset, `${label} ${hex(value as number)}`));
    else lines.push(logLine(base + f.offset, `${label}${NO_COLON.has(f.name) ? ' ' : ': '}${String(value)}`));
  }
  return lines;
}

/** The disk a rebuild writes to carries its reason: the CLI's engine fills it, `rebuilt` ends it. */
function withRebuilding(read: (d: BlockDevice, ctx: ReadContext) => Promise<RaidDevice<Nv>[]>) {
  return async (d: BlockDevice, ctx: ReadContext): Promise<RaidDevice<Nv>[]> =>
    (await read(d, ctx)).map((rd) => {
      const outOfSync = rebuildingReason(rd.meta);
      return outOfSync === undefined ? rd : { ...rd, outOfSync };
    });
}

export const nvidia = defineFormat<Nv>({
  apiVersion: 1,
  name: NAME,
  description: 'NVidia RAID',
  levels: 'S,0,1,10,5',

  read: withRebuilding(
    blockReader({
      layout: nvLayout,
      at: { fromEnd: NV_END_OFFSET },
      identifiedBy: ['vendor'],
      isOurs: (nv) => latin1(nv.vendor.subarray(0, NV_ID_STRING.length)) === NV_ID_STRING,
      checksum: { valid: nvChecksumOk, message: 'bad checksum' },
      member: ({ meta: nv, sector }) => ({
        name: setName(nv, true),
        type: raidType(nv),
        status: status(nv),
        sectors: sector,
        // A RAID5's data member sits in the layout at its unitNumber: what maps the set with one missing.
        ...(nv.array.raidLevel === NV_LEVEL_5_SYM && nv.unitNumber < dataWidth(nv) ? { position: nv.unitNumber } : {}),
      }),
    }),
  ),

  group(rd, ctx) {
    const nv = meta(rd);
    const level = nv.array.raidLevel;
    // Spares join their set like members; dmraid links sets by level, whatever the member's type.
    const set = ctx.findOrCreateSet(rd.name, rd);
    if (!ctx.initSet(set, rd, nv.array.stripeBlockSize, level)) return undefined;
    ctx.addDevice(set, rd, byUnit);
    switch (level) {
      case NV_LEVEL_JBOD:
      case NV_LEVEL_0:
      case NV_LEVEL_1:
      case NV_LEVEL_5_SYM:
        ctx.addTopLevel(set);
        return set;
      case NV_LEVEL_1_0:
        return ctx.joinSuperset(
          setName(nv, false),
          set,
          rd,
          (superset) => {
            superset.type = 'raid1';
            superset.stride = nv.array.stripeBlockSize;
          },
          byHalf,
        );
      default:
        // RAID3 and "unknown" level members form a set dmraid never links anywhere: no visible set.
        return set;
    }
  },

  check(set, ctx) {
    return ctx.checkRaidSet(set, {
      devices: (rd) => expectedDevices(meta(rd)),
      member: keepsDegradedRaid5,
    });
  },

  log(rd) {
    const nv = meta(rd);
    const revision = latin1(nv.productRevision.filter((b) => b !== 0));
    return [
      `${rd.device.path} (${NAME}):`,
      logLine(nvLayout.offsetOf('vendor'), vendorText(nvLayout.encodeToBytes(nv))),
      ...fieldLines(nvLayout, nv, {
        array: 'skip',
        productID: (v: Uint8Array) => cString(v),
        productRevision: () => revision,
      }),
      ...arrayLines(nv),
    ];
  },

  write: writeMetadata,

  create(request, ctx) {
    return createNvidia(request, ctx, { read: (d) => this.read(d, readContext(NAME, nullLog)), setName: (nv) => setName(nv, false) });
  },

  failed: recordFailed,

  spare: makeSpare,
  rebuild: rebuildSet,
  rebuilt: rebuiltSet,
  remove: removeSet,

  stale: staleMembers,
});
