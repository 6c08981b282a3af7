/**
 * Builds DDF metadata for any layout (testbed sets, tests, create): anchor, primary and secondary tables
 * with every section and correct CRCs, in either byte order, as a DDF controller (or mdadm) lays them out.
 */
import type { Endian } from '@dmraid/core';
import { tableCrc, type CrcStyle } from './checksum.js';
import {
  ANCHOR_END,
  ANCHOR_END_ADAPTEC,
  BLOCK,
  DDF1_2SPANNED,
  DDF1_ADAPTER_DATA,
  DDF1_CONCAT,
  DDF1_FORCED_PD_GUID,
  DDF1_HEADER,
  DDF1_JBOD,
  DDF1_PHYS_DRIVE_REC,
  DDF1_RAID0,
  DDF1_RAID1,
  DDF1_RAID1E,
  DDF1_RAID4,
  DDF1_RAID5,
  DDF1_RAID5_LS,
  DDF1_RAID6_ZR,
  DDF1_RAID6,
  DDF1_SPARE_REC,
  DDF1_VD_CONFIG_REC,
  DDF1_VIRT_DRIVE_REC,
  PCI_VENDOR_ID_ADAPTEC2,
  ddf1Adapter,
  ddf1ConfigRecord,
  ddf1DiskData,
  ddf1Drives,
  ddf1Header,
  ddf1PhysDrive,
  ddf1Spare,
  ddf1SpareHeader,
  ddf1VirtDrive,
  u32Cell,
  u64Cell,
  ddfTimestamp,
} from './layout.js';

export type Ddf1Level = 'raid0' | 'raid1' | 'raid4' | 'raid5' | 'raid6' | 'concat' | 'jbod' | 'raid10' | 'raid1e';

export interface Ddf1VdSpec {
  /** VD name (up to 16 bytes); empty: dmraid names the set by the GUID. */
  readonly name: string;
  readonly level: Ddf1Level;
  /** Disk indexes of the members, in order. */
  readonly members: readonly number[];
  /** Data sectors per member. */
  readonly sectors: number;
  /** Data offset of every member. */
  readonly offset: number;
  /** Stripe size as a power of two in sectors (default 7: 64 KiB). */
  readonly stripeShift?: number;
  /** RAID level qualifier (default: RAID5 3, left symmetric; RAID6 1, rotating parity 0 with data restart; else 0). */
  readonly qualifier?: number;
  /** VD state (0 optimal, 1 degraded, 4 failed, 5 partially optimal). */
  readonly state?: number;
  /** GUID bytes (24); default derived from the index. */
  readonly guid?: Uint8Array;
  /**
   * init_state "fully initialised" (default) or "not initialised": a new redundant VD over disks whose
   * contents differ is not consistent yet, so mdadm resyncs it (as its own create does without --assume-clean).
   */
  readonly initialised?: boolean;
}

export interface Ddf1ContainerSpec {
  readonly endian: Endian;
  readonly disks: number;
  readonly diskSectors: number;
  readonly vds: readonly Ddf1VdSpec[];
  /** Disk indexes that are global spares (in no VD). */
  readonly globalSpares?: readonly number[];
  /** Dedicated spares: disk index and the VD it serves. */
  readonly dedicatedSpares?: readonly { readonly disk: number; readonly vd: number }[];
  /** PD state per disk index (default 0x01 online). */
  readonly pdStates?: Readonly<Record<number, number>>;
  /** Adaptec mode: anchor at N-257 and adapter PCI vendor 0x9005. */
  readonly adaptec?: boolean;
  /** Disks whose primary header signature is destroyed (the secondary must be used). */
  readonly damagedPrimary?: readonly number[];
  /** Disks whose virtual drive section carries a wrong CRC. */
  readonly badCrc?: readonly number[];
  /** Write the physical drive section with the disk data signature, as mdadm before 3.2 did. */
  readonly oldMdadmPdMagic?: boolean;
  /** Container GUID seed (distinguishes testbed sets). */
  readonly seed?: number;
  /**
   * When the tables are written (Unix seconds): the headers' and config records' timestamps, as mdadm stamps
   * them. Without, fixed stamps made from the seed (the testbed's sets stay byte-stable).
   */
  readonly time?: number;
  /**
   * Tables as mdadm reads them (what create writes): its CRC-32 (checksum.ts), a two-sector VD section.
   * The testbed keeps the default, which dmraid reads alike.
   */
  readonly mdadm?: boolean;
}

export interface MemberArea {
  readonly offsetBytes: number;
  readonly data: Uint8Array;
  /** The secondary copy of the sections, which a read does not keep (and a write does not rewrite). */
  readonly copy?: boolean;
}

export interface MemberImage {
  readonly sizeSectors: number;
  readonly areas: MemberArea[];
}

/** Table geometry, sectors relative to the table's start. */
const MAX_PD = 15;
const MAX_VD = 7;
const MAX_PRIMARY = 16;
const RECORD_SECTORS = 1 + Math.ceil((12 * MAX_PRIMARY) / BLOCK);

/**
 * Where the sections sit in one copy of the tables. mdadm loads the PD and VD sections only when they are
 * 2, 8, 32, 128 or 512 sectors long (super-ddf.c: load_section), and mdmon writes the sections back one
 * after the other whatever the header's offsets say: header, adapter, PD, VD, max_partitions + 1 config
 * records, disk data (__write_ddf_structure). For mdadm the VD section is padded to two sectors and the
 * disk data follows the config records; otherwise mdmon's first update lands on the wrong sections.
 */
function sectionsFor(mdadm: boolean) {
  const pd = { offset: mdadm ? 2 : 3, len: Math.ceil((64 + 64 * MAX_PD) / BLOCK) };
  const vd = { offset: pd.offset + pd.len, len: mdadm ? 2 : Math.ceil((64 + 64 * MAX_VD) / BLOCK) };
  const config = { offset: vd.offset + vd.len, len: (MAX_VD + 1) * RECORD_SECTORS };
  const diskData = { offset: mdadm ? config.offset + config.len : 2, len: 1 };
  const sections = { adapter: { offset: 1, len: 1 }, diskData, pd, vd, config };
  return { sections, tableSectors: Math.max(config.offset + config.len, diskData.offset + diskData.len) };
}

/** Sectors of one copy of the tables. */
export const TABLE_SECTORS = sectionsFor(false).tableSectors;

const levelCode: Record<Ddf1Level, number> = {
  raid0: DDF1_RAID0,
  raid1: DDF1_RAID1,
  raid4: DDF1_RAID4,
  raid5: DDF1_RAID5,
  raid6: DDF1_RAID6,
  concat: DDF1_CONCAT,
  jbod: DDF1_JBOD,
  raid10: DDF1_RAID1,
  raid1e: DDF1_RAID1E,
};

function ascii(text: string, length: number, pad = 0): Uint8Array {
  const out = new Uint8Array(length).fill(pad);
  for (let i = 0; i < Math.min(length, text.length); i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

const pdReference = (seed: number, disk: number) => (0x0d000000 + seed * 0x100 + disk + 1) >>> 0;
const pdGuid = (seed: number, disk: number) => ascii(`DMRAID-PD ${seed.toString(16)}-${disk}`, 24, 0x20);
const vdGuid = (seed: number, vd: number) => ascii(`DMRAID-VD ${seed.toString(16)}-${vd}`, 24, 0x20);

/** Data sectors of a VD as a host sees it. */
function vdSize(vd: Ddf1VdSpec): bigint {
  const n = BigInt(vd.members.length);
  const s = BigInt(vd.sectors);
  switch (vd.level) {
    case 'raid1':
      return s;
    case 'raid4':
    case 'raid5':
      return s * (n - 1n);
    case 'raid6':
      return s * (n - 2n);
    case 'raid10':
    case 'raid1e':
      return (s * n) / 2n;
    default:
      return s * n;
  }
}

/** The config records of a VD: one, or (mdadm RAID10) one basic VD per mirrored pair. */
function vdRecords(spec: Ddf1ContainerSpec, vd: Ddf1VdSpec, index: number, endian: Endian): { bytes: Uint8Array }[] {
  const seed = spec.seed ?? 0;
  const groups = vd.level === 'raid10' ? Array.from({ length: vd.members.length / 2 }, (_, k) => vd.members.slice(2 * k, 2 * k + 2)) : [vd.members];
  return groups.map((members, k) => {
    const bytes = new Uint8Array(RECORD_SECTORS * BLOCK).fill(0xff);
    const cr = ddf1ConfigRecord.decodeFrom(new Uint8Array(BLOCK), 0, { endian });
    cr.signature = DDF1_VD_CONFIG_REC;
    cr.guid = vd.guid ?? vdGuid(seed, index);
    cr.timestamp = spec.time !== undefined ? ddfTimestamp(spec.time) : 0x5a000000 + index;
    cr.seqnum = 1;
    cr.primary_element_count = members.length;
    cr.stripe_size = vd.level === 'concat' || vd.level === 'jbod' || vd.level === 'raid1' ? 0 : (vd.stripeShift ?? 7);
    cr.raid_level = levelCode[vd.level];
    cr.raid_qualifier = vd.qualifier ?? (vd.level === 'raid5' ? DDF1_RAID5_LS : vd.level === 'raid6' ? DDF1_RAID6_ZR : 0);
    if (vd.level === 'raid10') {
      cr.secondary_element_count = groups.length;
      cr.secondary_element_number = k;
      cr.secondary_element_raid_level = DDF1_2SPANNED;
    } else cr.secondary_element_count = 1;
    cr.sectors = BigInt(vd.sectors);
    cr.size = vdSize(vd);
    const dedicated = (spec.dedicatedSpares ?? []).filter((s) => s.vd === index).map((s) => pdReference(seed, s.disk));
    cr.spares = Array.from({ length: 8 }, (_, i) => dedicated[i] ?? 0xffffffff);
    cr.cache_policy = 0n;
    cr.bg_task_rate = 0;
    const head = ddf1ConfigRecord.encodeToBytes(cr, { endian });
    head.fill(0, 0x89);
    head.fill(0, 0x28, 0x40);
    head.fill(0, 0x58, 0x60);
    bytes.set(head, 0);
    members.forEach((disk, j) => {
      bytes.set(u32Cell.encodeToBytes({ value: pdReference(seed, disk) } as never, { endian }), BLOCK + 4 * j);
      bytes.set(u64Cell.encodeToBytes({ value: BigInt(vd.offset) } as never, { endian }), BLOCK + 4 * MAX_PRIMARY + 8 * j);
    });
    return { bytes };
  });
}

function spareRecord(spec: Ddf1ContainerSpec, disk: number, vd: number, endian: Endian): Uint8Array {
  const bytes = new Uint8Array(RECORD_SECTORS * BLOCK).fill(0xff);
  const sh = ddf1SpareHeader.decodeFrom(new Uint8Array(32), 0, { endian });
  sh.signature = DDF1_SPARE_REC;
  sh.timestamp = 0x5a100000 + disk;
  sh.type = 0x01; // dedicated
  sh.num_spares = 1;
  sh.max_spares = 1;
  bytes.set(ddf1SpareHeader.encodeToBytes(sh, { endian }), 0);
  const sp = ddf1Spare.decodeFrom(new Uint8Array(32), 0, { endian });
  sp.guid = spec.vds[vd]?.guid ?? vdGuid(spec.seed ?? 0, vd);
  sp.secondary_element = 0;
  bytes.set(ddf1Spare.encodeToBytes(sp, { endian }), 32);
  return bytes;
}

/** Build every member disk's metadata. Disk i's areas: anchor, primary tables, secondary header and its copy. */
export function buildDdf1Container(spec: Ddf1ContainerSpec): MemberImage[] {
  const { endian } = spec;
  const seed = spec.seed ?? 0;
  const N = spec.diskSectors;
  const { sections: SECTIONS, tableSectors: TABLE_SECTORS } = sectionsFor(!!spec.mdadm);
  const crcStyle: CrcStyle = spec.mdadm ? 'mdadm' : 'zlib';
  const anchorLba = N - (spec.adaptec ? ANCHOR_END_ADAPTEC : ANCHOR_END);
  const secondaryLba = anchorLba - TABLE_SECTORS;
  const primaryLba = secondaryLba - TABLE_SECTORS;
  const containerGuid = ascii(`DMRAID-DDF ${seed.toString(16)}`, 24, 0x20);

  // Shared sections: PD records, VD records, config records.
  const pdRaw = new Uint8Array(SECTIONS.pd.len * BLOCK).fill(0xff);
  const pdh = ddf1Drives.decodeFrom(new Uint8Array(64), 0, { endian });
  pdh.signature = spec.oldMdadmPdMagic ? DDF1_FORCED_PD_GUID : DDF1_PHYS_DRIVE_REC;
  pdh.num_drives = spec.disks;
  pdh.max_drives = MAX_PD;
  const pdHead = ddf1Drives.encodeToBytes(pdh, { endian });
  pdHead.fill(0xff, 12);
  pdRaw.set(pdHead, 0);
  const inVd = new Set(spec.vds.flatMap((v) => v.members));
  for (let i = 0; i < spec.disks; i++) {
    const pd = ddf1PhysDrive.decodeFrom(new Uint8Array(64), 0, { endian });
    pd.guid = pdGuid(seed, i);
    pd.reference = pdReference(seed, i);
    // Bit 1: member of a VD; bit 2: global spare; bit 3: dedicated spare.
    pd.type = (inVd.has(i) ? 0x02 : 0) | ((spec.globalSpares ?? []).includes(i) ? 0x04 : 0) | ((spec.dedicatedSpares ?? []).some((s) => s.disk === i) ? 0x08 : 0);
    pd.state = spec.pdStates?.[i] ?? 0x01;
    pd.size = BigInt(primaryLba);
    pd.path_info = new Uint8Array(18);
    pdRaw.set(ddf1PhysDrive.encodeToBytes(pd, { endian }), 64 + 64 * i);
  }

  const vdRaw = new Uint8Array(SECTIONS.vd.len * BLOCK).fill(0xff);
  const vdh = ddf1Drives.decodeFrom(new Uint8Array(64), 0, { endian });
  vdh.signature = DDF1_VIRT_DRIVE_REC;
  vdh.num_drives = spec.vds.length;
  vdh.max_drives = MAX_VD;
  const vdHead = ddf1Drives.encodeToBytes(vdh, { endian });
  vdHead.fill(0xff, 12);
  vdRaw.set(vdHead, 0);
  spec.vds.forEach((v, i) => {
    const vd = ddf1VirtDrive.decodeFrom(new Uint8Array(64), 0, { endian });
    vd.guid = v.guid ?? vdGuid(seed, i);
    vd.vd_num = i;
    vd.type = 0;
    vd.state = v.state ?? 0;
    vd.init_state = v.initialised === false ? 0x00 : 0x02; // DDF_init_not / DDF_init_full
    vd.name = ascii(v.name, 16, 0);
    const bytes = ddf1VirtDrive.encodeToBytes(vd, { endian });
    bytes.fill(0, 0x1a, 0x1c);
    bytes.fill(0, 0x22, 0x30);
    vdRaw.set(bytes, 64 + 64 * i);
  });

  const cfgRaw = new Uint8Array(SECTIONS.config.len * BLOCK).fill(0xff);
  const records = [
    ...spec.vds.flatMap((v, i) => vdRecords(spec, v, i, endian)).map((r) => r.bytes),
    ...(spec.dedicatedSpares ?? []).map((s) => spareRecord(spec, s.disk, s.vd, endian)),
  ];
  if (records.length > MAX_VD + 1) throw new RangeError(`too many config records (${records.length})`);
  records.forEach((r, i) => {
    r.fill(0xff, 4, 8);
    cfgRaw.set(r, i * RECORD_SECTORS * BLOCK);
  });
  // CRCs of the records (each over its own length).
  for (let i = 0; i < records.length; i++) {
    const at = i * RECORD_SECTORS * BLOCK;
    const crc = tableCrc(cfgRaw.subarray(at, at + RECORD_SECTORS * BLOCK), 4, crcStyle);
    cfgRaw.set(u32Cell.encodeToBytes({ value: crc } as never, { endian }), at + 4);
  }
  const withCrc = (raw: Uint8Array) => {
    raw.set(u32Cell.encodeToBytes({ value: tableCrc(raw, 4, crcStyle) } as never, { endian }), 4);
    return raw;
  };
  withCrc(pdRaw);
  withCrc(vdRaw);

  const adapter = (() => {
    const a = ddf1Adapter.decodeFrom(new Uint8Array(BLOCK), 0, { endian });
    a.signature = DDF1_ADAPTER_DATA;
    a.guid = ascii(spec.adaptec ? 'ADAPTEC DDF CONTROLLER' : 'DMRAID TESTBED ADAPTER', 24, 0x20);
    a.pci_vendor = spec.adaptec ? PCI_VENDOR_ID_ADAPTEC2 : 0x1000;
    a.pci_device = 0x0285;
    a.pci_subvendor = a.pci_vendor;
    a.pci_subdevice = 0x0001;
    return withCrc(ddf1Adapter.encodeToBytes(a, { endian }));
  })();

  const header = (type: number) => {
    const h = ddf1Header.decodeFrom(new Uint8Array(BLOCK), 0, { endian });
    h.signature = DDF1_HEADER;
    h.guid = containerGuid;
    h.ddf_rev = ascii('01.00.00', 8);
    h.seqnum = 1;
    h.timestamp = spec.time !== undefined ? ddfTimestamp(spec.time) : 0x5a000000 + seed;
    h.primary_table_lba = BigInt(primaryLba);
    h.secondary_table_lba = BigInt(secondaryLba);
    h.header_type = type;
    h.workspace_length = 0;
    h.workspace_lba = BigInt(primaryLba);
    h.max_phys_drives = MAX_PD;
    h.max_virt_drives = MAX_VD;
    // mdmon writes max_partitions + 1 config records (one per VD on the disk, then a spare record).
    h.max_partitions = spec.mdadm ? MAX_VD : 1;
    h.vd_config_record_len = RECORD_SECTORS;
    h.max_primary_elements = MAX_PRIMARY;
    h.adapter_data_offset = SECTIONS.adapter.offset;
    h.adapter_data_len = SECTIONS.adapter.len;
    h.phys_drive_offset = SECTIONS.pd.offset;
    h.phys_drive_len = SECTIONS.pd.len;
    h.virt_drive_offset = SECTIONS.vd.offset;
    h.virt_drive_len = SECTIONS.vd.len;
    h.config_record_offset = SECTIONS.config.offset;
    h.config_record_len = SECTIONS.config.len;
    h.disk_data_offset = SECTIONS.diskData.offset;
    h.disk_data_len = SECTIONS.diskData.len;
    h.badblock_offset = 0xffffffff;
    h.diag_offset = 0xffffffff;
    h.vendor_offset = 0xffffffff;
    const raw = ddf1Header.encodeToBytes(h, { endian });
    raw.fill(0xff, 0x33, 0x60);
    return withCrc(raw);
  };

  return Array.from({ length: spec.disks }, (_, i) => {
    const dd = ddf1DiskData.decodeFrom(new Uint8Array(BLOCK), 0, { endian });
    dd.signature = DDF1_FORCED_PD_GUID;
    dd.guid = pdGuid(seed, i);
    dd.reference = pdReference(seed, i);
    dd.forced_ref_flag = 0;
    dd.forced_guid_flag = 0;
    const diskData = withCrc(ddf1DiskData.encodeToBytes(dd, { endian }));
    const tables = (type: number) => {
      const t = new Uint8Array(TABLE_SECTORS * BLOCK);
      t.set(header(type), 0);
      t.set(adapter, SECTIONS.adapter.offset * BLOCK);
      t.set(diskData, SECTIONS.diskData.offset * BLOCK);
      t.set(pdRaw, SECTIONS.pd.offset * BLOCK);
      t.set(vdRaw, SECTIONS.vd.offset * BLOCK);
      t.set(cfgRaw, SECTIONS.config.offset * BLOCK);
      return t;
    };
    const primary = tables(0x01);
    const secondary = tables(0x02);
    if (spec.damagedPrimary?.includes(i)) primary.fill(0, 0, 4);
    if (spec.badCrc?.includes(i)) for (const t of [primary, secondary]) t[SECTIONS.vd.offset * BLOCK + 4] = t[SECTIONS.vd.offset * BLOCK + 4]! ^ 0x5a;
    const anchor = header(0x00);
    return {
      sizeSectors: N,
      areas: [
        { offsetBytes: anchorLba * BLOCK, data: anchor },
        { offsetBytes: primaryLba * BLOCK, data: primary },
        { offsetBytes: secondaryLba * BLOCK, data: secondary.slice(0, BLOCK) },
        { offsetBytes: (secondaryLba + 1) * BLOCK, data: secondary.slice(BLOCK), copy: true },
      ],
    };
  });
}

/** The data area a container leaves in front of its tables. */
export const dataSectors = (diskSectors: number, adaptec = false, mdadm = false) =>
  diskSectors - (adaptec ? ANCHOR_END_ADAPTEC : ANCHOR_END) - 2 * sectionsFor(mdadm).tableSectors;
