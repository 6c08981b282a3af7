/**
 * Reading a disk's DDF tables into one decoded value, and encoding them back. Positions are kept beside the
 * values so that a write puts every table back where it came from, byte for byte.
 */
import type { BlockDevice, Endian, MetadataArea, ReadContext } from '@dmraid/core';
import { tableCrc, type CrcStyle } from './checksum.js';
import {
  ANCHOR_END,
  ANCHOR_END_ADAPTEC,
  BLOCK,
  DDF1_ADAPTER_DATA,
  DDF1_FORCED_PD_GUID,
  DDF1_HEADER,
  DDF1_HEADER_BACKWARDS,
  DDF1_INVALID,
  DDF1_PHYS_DRIVE_REC,
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
  type Ddf1Adapter,
  type Ddf1ConfigRecord,
  type Ddf1DiskData,
  type Ddf1Drives,
  type Ddf1Header,
  type Ddf1PhysDrive,
  type Ddf1Spare,
  type Ddf1SpareHeader,
  type Ddf1VirtDrive,
} from './layout.js';

const NO_LBA = 0xffffffffffffffffn;
/** -D keeps the whole metadata tail in memory; past this size it dumps the tables one by one instead. */
const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
/** Sections longer than this are not DDF (a real one is a few hundred sectors). */
const MAX_SECTION_SECTORS = 65536;

/** A table as found on the disk: its decoded value, its bytes and where they are. */
export interface Table<T> {
  value: T;
  raw: Uint8Array;
  /** Sector of the table's first byte. */
  lba: number;
}

export interface VdConfig {
  readonly kind: 'vd';
  /** Index of the record in the configuration section. */
  readonly index: number;
  /** Byte offset of the record inside the configuration section. */
  readonly at: number;
  cr: Ddf1ConfigRecord;
  /** Member references and data offsets, primary_element_count of each. */
  ids: number[];
  offsets: bigint[];
}

export interface SpareRecord {
  readonly kind: 'spare';
  readonly index: number;
  readonly at: number;
  header: Ddf1SpareHeader;
  spares: Ddf1Spare[];
}

export type ConfigEntry = VdConfig | SpareRecord;

export interface Ddf1 {
  endian: Endian;
  /** Adaptec mode: anchor at N-257 or adapter PCI vendor 0x9005 (CRCs are checked, RAID5 is left asymmetric). */
  adaptec: boolean;
  anchor: Table<Ddf1Header>;
  /** The header at primary_table_lba, good or bad. */
  primaryAt: Table<Ddf1Header> | undefined;
  /** The header in use: the primary, or the secondary when the primary's signature is bad. */
  header: Table<Ddf1Header>;
  usingSecondary: boolean;
  /** A good secondary header that is not the one in use. */
  secondary: Table<Ddf1Header> | undefined;
  adapter: Table<Ddf1Adapter> | undefined;
  diskData: Table<Ddf1DiskData>;
  pdHeader: Table<Ddf1Drives>;
  pds: Ddf1PhysDrive[];
  vdHeader: Table<Ddf1Drives>;
  vds: Ddf1VirtDrive[];
  cfg: { raw: Uint8Array; lba: number };
  records: ConfigEntry[];
  /** This disk's entry in pds. */
  pdIndex: number;
  /** From min(anchor, primary, secondary LBA) to the end of the disk, what -D dumps. */
  /** The metadata region from the first table to the end of the disk (what -D dumps). */
  chunk: { lba: number; bytes: number } | undefined;
}

const hexLower = (n: number) => (n >>> 0).toString(16);

/** Sectors per config record × records: how the configuration section is cut. */
export function recordCount(h: Ddf1Header): number {
  return h.vd_config_record_len ? Math.floor(h.config_record_len / h.vd_config_record_len) : 0;
}

/** Entries in a config record's member arrays (0xFFFF means max_phys_drives, an Adaptec habit). */
export function maxPrimaryElements(h: Ddf1Header): number {
  return h.max_primary_elements === 0xffff ? h.max_phys_drives : h.max_primary_elements;
}

/** PD size in sectors; Adaptec writes all ones in the top 32 bits. */
export function pdSize(pd: Ddf1PhysDrive): bigint {
  return pd.size >> 32n === 0xffffffffn ? pd.size & 0xffffffffn : pd.size;
}

export const thisDisk = (d: Ddf1): Ddf1PhysDrive => d.pds[d.pdIndex]!;

function decodeRecords(d: Pick<Ddf1, 'endian' | 'header'>, raw: Uint8Array, warn: (x: number) => void): ConfigEntry[] {
  const h = d.header.value;
  const endian = d.endian;
  const recordBytes = h.vd_config_record_len * BLOCK;
  const m = maxPrimaryElements(h);
  const out: ConfigEntry[] = [];
  for (let i = 0; i < recordCount(h); i++) {
    const at = i * recordBytes;
    if (at + BLOCK > raw.length) break;
    // The record type is compared as read: both signatures read the same in either byte order.
    const sig = u32Cell.decodeFrom(raw, at, { endian: 'le' }).value;
    if (sig === DDF1_VD_CONFIG_REC) {
      const cr = ddf1ConfigRecord.decodeFrom(raw, at, { endian });
      const ids: number[] = [];
      const offsets: bigint[] = [];
      for (let j = 0; j < Math.min(cr.primary_element_count, m); j++) {
        const idAt = at + BLOCK + 4 * j;
        const offAt = at + BLOCK + 4 * m + 8 * j;
        if (offAt + 8 > at + recordBytes || offAt + 8 > raw.length) break;
        ids.push(u32Cell.decodeFrom(raw, idAt, { endian }).value);
        offsets.push(u64Cell.decodeFrom(raw, offAt, { endian }).value);
      }
      out.push({ kind: 'vd', index: i, at, cr, ids, offsets });
    } else if (sig === DDF1_SPARE_REC) {
      const header = ddf1SpareHeader.decodeFrom(raw, at, { endian });
      const spares: Ddf1Spare[] = [];
      for (let j = 0; j < header.num_spares; j++) {
        const sAt = at + ddf1SpareHeader.size + j * ddf1Spare.size;
        if (sAt + ddf1Spare.size > at + recordBytes || sAt + ddf1Spare.size > raw.length) break;
        spares.push(ddf1Spare.decodeFrom(raw, sAt, { endian }));
      }
      out.push({ kind: 'spare', index: i, at, header, spares });
    } else if (sig !== 0 && sig !== DDF1_INVALID) warn(sig);
  }
  return out;
}

async function readTable<T>(
  device: BlockDevice,
  ctx: ReadContext,
  lba: number | bigint,
  sectors: number,
  decode: (raw: Uint8Array) => T,
): Promise<Table<T> | undefined> {
  // An anchor's 64-bit LBA is read where dmraid's unsigned 64-bit byte offset points: past the disk's end
  // that is dmraid's seek error; read, it is on the disk, where a number holds it exactly.
  const at = BigInt.asUintN(64, BigInt(lba) * BigInt(BLOCK));
  const raw = await ctx.read(device, at, Math.max(sectors, 1) * BLOCK);
  if (!raw) return undefined;
  return { value: decode(raw), raw, lba: Number(at / BigInt(BLOCK)) };
}

async function readAnchor(device: BlockDevice, ctx: ReadContext, fromEnd: number) {
  const lba = device.sizeSectors - fromEnd;
  const raw = await ctx.read(device, lba * BLOCK, BLOCK);
  if (!raw) return undefined;
  const endian: Endian | undefined = raw[0] === 0xde && raw[1] === 0x11 ? 'be' : raw[0] === 0x11 && raw[1] === 0xde ? 'le' : undefined;
  if (!endian) return undefined;
  const value = ddf1Header.decodeFrom(raw, 0, { endian });
  if (value.signature !== DDF1_HEADER && value.signature !== DDF1_HEADER_BACKWARDS) return undefined;
  return { endian, anchor: { value, raw, lba } satisfies Table<Ddf1Header> };
}

/**
 * Find this disk's PD record: the last of max_drives entries whose reference is the disk data's (dmraid), an
 * unused entry (GUID all ones) only when no other has it. mdadm's removal of a failed disk moves the later
 * entries up and blanks only the GUID of the last one (ddf_remove_failed): after mdmon rebuilt onto a spare,
 * the spare's reference is in that unused entry too, with its old Rebuilding state.
 */
/** A PD row mdadm left unused (its GUID all ones). */
export const isUnusedRow = (pd: Ddf1PhysDrive) => pd.guid.every((b) => b === 0xff);

function findPd(pds: readonly Ddf1PhysDrive[], reference: number): number {
  let unused = -1;
  for (let i = pds.length - 1; i >= 0; i--) {
    if (pds[i]!.reference !== reference) continue;
    if (!isUnusedRow(pds[i]!)) return i;
    if (unused < 0) unused = i;
  }
  return unused;
}

/**
 * Read the DDF tables of a disk as dmraid does (anchor at N-1, else N-257), with dmraid's messages. Returns
 * undefined when the disk holds no usable DDF metadata (after reporting why, where dmraid does).
 */
export async function readDdf1(device: BlockDevice, ctx: ReadContext): Promise<Ddf1 | undefined> {
  const path = device.path;
  const warn = (t: string) => ctx.log('warn', `ddf1: ${t}`);
  let found = await readAnchor(device, ctx, ANCHOR_END);
  let adaptec = false;
  if (!found) {
    found = await readAnchor(device, ctx, ANCHOR_END_ADAPTEC);
    adaptec = !!found;
  }
  if (!found) return undefined;
  const { endian, anchor } = found;
  const decodeHeader = (raw: Uint8Array) => ddf1Header.decodeFrom(raw, 0, { endian });
  const a = anchor.value;

  const primaryAt = await readTable(device, ctx, a.primary_table_lba, 1, decodeHeader);
  if (!primaryAt) return undefined;
  let secondaryAt: Table<Ddf1Header> | undefined;
  if (a.secondary_table_lba !== NO_LBA) {
    secondaryAt = await readTable(device, ctx, a.secondary_table_lba, 1, decodeHeader);
    if (!secondaryAt) return undefined;
  }
  const primaryGood = primaryAt.value.signature === DDF1_HEADER;
  // dmraid's message has no %s for the path.
  if (!primaryGood) warn(`incorrect primary header signature ${hexLower(primaryAt.value.signature)} on`);
  let header = primaryAt;
  let secondary: Table<Ddf1Header> | undefined;
  let usingSecondary = false;
  if (secondaryAt && secondaryAt.value.signature === DDF1_HEADER) {
    if (!primaryGood) {
      ctx.log('warn', `ddf1: using secondary header on ${path}`);
      header = secondaryAt;
      usingSecondary = true;
    } else secondary = secondaryAt;
  } else if (secondaryAt && secondaryAt.value.signature) {
    warn(`bad secondary header signature ${hexLower(secondaryAt.value.signature)} on ${path}`);
  }
  if (!primaryGood && !usingSecondary) {
    ctx.error(`both header signatures bad on ${path}`);
    return undefined;
  }
  const h = header.value;
  // Sections follow the header in use: the secondary's copy of the tables when the primary is bad.
  const base = header.lba;
  const sectionSectors = (n: number) => (n > 0 && n <= MAX_SECTION_SECTORS ? n : 1);

  let adapter: Table<Ddf1Adapter> | undefined;
  if (h.adapter_data_offset !== DDF1_INVALID) {
    adapter = await readTable(device, ctx, base + h.adapter_data_offset, sectionSectors(h.adapter_data_len), (raw) =>
      ddf1Adapter.decodeFrom(raw, 0, { endian }),
    );
    if (!adapter) return undefined;
    if (adapter.value.signature !== DDF1_ADAPTER_DATA) {
      if (adapter.value.signature) warn(`incorrect adapter data signature ${hexLower(adapter.value.signature)} on ${path}`);
      adapter = undefined;
    }
  }
  if (adapter && adapter.value.pci_vendor === PCI_VENDOR_ID_ADAPTEC2) {
    ctx.log('notice', `ddf1: Adaptec mode discovered on ${path}`);
    adaptec = true;
  }

  const diskData = await readTable(device, ctx, base + h.disk_data_offset, sectionSectors(h.disk_data_len), (raw) =>
    ddf1DiskData.decodeFrom(raw, 0, { endian }),
  );
  if (!diskData) return undefined;
  if (diskData.value.signature !== DDF1_FORCED_PD_GUID) {
    warn(`incorrect disk data signature ${hexLower(diskData.value.signature)} on ${path}`);
    return undefined;
  }

  if (h.phys_drive_len > MAX_SECTION_SECTORS || h.virt_drive_len > MAX_SECTION_SECTORS || h.config_record_len > MAX_SECTION_SECTORS) {
    ctx.error(`cannot find physical drive record on ${path}`);
    return undefined;
  }
  const pdHeader = await readTable(device, ctx, base + h.phys_drive_offset, h.phys_drive_len, (raw) => ddf1Drives.decodeFrom(raw, 0, { endian }));
  if (!pdHeader) return undefined;
  // mdadm before 3.2 wrote the disk data signature on this section (DDF_PHYS_DATA_MAGIC for _RECORDS_).
  const pdSig = pdHeader.value.signature;
  if (h.phys_drive_len === 0 || (pdSig !== DDF1_PHYS_DRIVE_REC && pdSig !== DDF1_FORCED_PD_GUID)) {
    ctx.error(`cannot find physical drive record on ${path}`);
    return undefined;
  }
  const pdCount = Math.min(Math.max(pdHeader.value.num_drives, pdHeader.value.max_drives), Math.floor((pdHeader.raw.length - 64) / 64));
  const pds = Array.from({ length: pdCount }, (_, i) => ddf1PhysDrive.decodeFrom(pdHeader.raw, 64 + 64 * i, { endian }));

  const vdHeader = await readTable(device, ctx, base + h.virt_drive_offset, h.virt_drive_len, (raw) => ddf1Drives.decodeFrom(raw, 0, { endian }));
  if (!vdHeader) return undefined;
  if (h.virt_drive_len === 0 || vdHeader.value.signature !== DDF1_VIRT_DRIVE_REC) {
    ctx.error(`cannot find virtual drive record on ${path}`);
    return undefined;
  }
  const vdCount = Math.min(vdHeader.value.num_drives, Math.floor((vdHeader.raw.length - 64) / 64));
  const vds = Array.from({ length: vdCount }, (_, i) => ddf1VirtDrive.decodeFrom(vdHeader.raw, 64 + 64 * i, { endian }));

  const cfgRaw = await ctx.read(device, (base + h.config_record_offset) * BLOCK, h.config_record_len * BLOCK);
  if (!cfgRaw) return undefined;
  const cfg = { raw: cfgRaw, lba: base + h.config_record_offset };
  const records = decodeRecords({ endian, header }, cfgRaw, (x) => ctx.log('warn', `${path}: Unknown config record ${x | 0}.`));

  const d: Ddf1 = {
    endian,
    adaptec,
    anchor,
    primaryAt,
    header,
    usingSecondary,
    secondary,
    adapter,
    diskData,
    pdHeader,
    pds,
    vdHeader,
    vds,
    cfg,
    records,
    pdIndex: -1,
    chunk: undefined,
  };
  if (adaptec) for (const line of crcMismatches(d)) ctx.log('print', `ddf1: ${line} on ${path}`);

  // The whole metadata region (what -D dumps, as dmraid does) is read only when a dump asks for it: mdadm
  // reserves 32 MiB, and discovery needs none of it beyond the tables.
  // The smallest of the three LBAs is at most the anchor's, a number.
  const start = Number([a.primary_table_lba, a.secondary_table_lba].reduce((min, lba) => (lba < min ? lba : min), BigInt(anchor.lba)));
  const chunkBytes = (device.sizeSectors - start) * BLOCK;
  if (chunkBytes > 0 && chunkBytes <= MAX_CHUNK_BYTES) d.chunk = { lba: start, bytes: chunkBytes };

  d.pdIndex = findPd(pds, diskData.value.reference);
  if (d.pdIndex < 0) {
    ctx.error(`Cannot find physical drive description on ${path}!`);
    ctx.setupFailed(device);
    return undefined;
  }
  return d;
}

/** Tables whose stored CRC is wrong, as dmraid words it: "<table> with CRC <computed>, expected <stored>". */
export function crcMismatches(d: Ddf1): string[] {
  const out: string[] = [];
  const hex = (n: number) => (n >>> 0).toString(16).toUpperCase();
  const check = (label: string, raw: Uint8Array, stored: number) => {
    const computed = tableCrc(raw);
    if (computed !== stored) out.push(`${label} with CRC ${hex(computed)}, expected ${hex(stored)}`);
  };
  // dmraid's order: the sections backwards, then the config records.
  check('virtual drives', d.vdHeader.raw, d.vdHeader.value.crc);
  check('physical drives', d.pdHeader.raw, d.pdHeader.value.crc);
  check('disk data', d.diskData.raw, d.diskData.value.crc);
  if (d.adapter) check('adapter', d.adapter.raw, d.adapter.value.crc);
  if (d.secondary) check('secondary header', d.secondary.raw, d.secondary.value.crc);
  check('primary header', d.header.raw, d.header.value.crc);
  const recordBytes = d.header.value.vd_config_record_len * BLOCK;
  for (const r of d.records) {
    const raw = d.cfg.raw.subarray(r.at, r.at + recordBytes);
    check(r.kind === 'vd' ? 'VD CFG' : 'Spare CFG', raw, r.kind === 'vd' ? r.cr.crc : r.header.crc);
  }
  return out;
}

/** Encode every decoded table back into its bytes (undeclared bytes as read). */
export function encodeTables(d: Ddf1): void {
  const { endian } = d;
  const put = <T>(raw: Uint8Array, at: number, bytes: Uint8Array) => raw.set(bytes.subarray(0, Math.min(bytes.length, raw.length - at)), at);
  const header = (t: Table<Ddf1Header>) => put(t.raw, 0, ddf1Header.encodeToBytes(t.value, { endian }));
  header(d.anchor);
  if (d.primaryAt && (d.primaryAt === d.header || !d.usingSecondary)) header(d.primaryAt);
  header(d.header);
  if (d.secondary) header(d.secondary);
  if (d.adapter) put(d.adapter.raw, 0, ddf1Adapter.encodeToBytes(d.adapter.value, { endian }));
  put(d.diskData.raw, 0, ddf1DiskData.encodeToBytes(d.diskData.value, { endian }));
  put(d.pdHeader.raw, 0, ddf1Drives.encodeToBytes(d.pdHeader.value, { endian }));
  d.pds.forEach((pd, i) => put(d.pdHeader.raw, 64 + 64 * i, ddf1PhysDrive.encodeToBytes(pd, { endian })));
  put(d.vdHeader.raw, 0, ddf1Drives.encodeToBytes(d.vdHeader.value, { endian }));
  d.vds.forEach((vd, i) => put(d.vdHeader.raw, 64 + 64 * i, ddf1VirtDrive.encodeToBytes(vd, { endian })));
  const m = maxPrimaryElements(d.header.value);
  for (const r of d.records) {
    if (r.kind === 'vd') {
      put(d.cfg.raw, r.at, ddf1ConfigRecord.encodeToBytes(r.cr, { endian }));
      r.ids.forEach((id, j) => put(d.cfg.raw, r.at + BLOCK + 4 * j, u32Cell.encodeToBytes({ value: id } as never, { endian })));
      r.offsets.forEach((o, j) => put(d.cfg.raw, r.at + BLOCK + 4 * m + 8 * j, u64Cell.encodeToBytes({ value: o } as never, { endian })));
    } else {
      put(d.cfg.raw, r.at, ddf1SpareHeader.encodeToBytes(r.header, { endian }));
      r.spares.forEach((s, j) => put(d.cfg.raw, r.at + ddf1SpareHeader.size + j * ddf1Spare.size, ddf1Spare.encodeToBytes(s, { endian })));
    }
  }
}

/**
 * Which CRC-32 the tables carry (checksum.ts): mdadm's when the header in use holds it, else dmraid's. A
 * rewrite keeps it, so that whoever wrote the tables still reads them.
 */
export function crcStyleOf(d: Ddf1): CrcStyle {
  return tableCrc(d.header.raw, 4, 'mdadm') === d.header.value.crc && tableCrc(d.header.raw) !== d.header.value.crc ? 'mdadm' : 'zlib';
}

/** Recompute every table's CRC after a change (state updates, creation). */
export function updateCrcs(d: Ddf1, style: CrcStyle = 'zlib'): void {
  encodeTables(d);
  const fix = (t: { value: { crc: number }; raw: Uint8Array }) => {
    t.value.crc = tableCrc(t.raw, 4, style);
  };
  for (const t of [d.anchor, d.header, d.secondary, d.adapter, d.diskData, d.pdHeader, d.vdHeader]) if (t) fix(t);
  if (d.primaryAt && !d.usingSecondary) fix(d.primaryAt);
  const recordBytes = d.header.value.vd_config_record_len * BLOCK;
  for (const r of d.records) {
    const raw = d.cfg.raw.subarray(r.at, r.at + recordBytes);
    if (r.kind === 'vd') r.cr.crc = tableCrc(raw, 4, style);
    else r.header.crc = tableCrc(raw, 4, style);
  }
  encodeTables(d);
}

/** Where the tables are, in dmraid's order: what -E erases and a write puts back. */
export function metadataAreas(d: Ddf1): MetadataArea[] {
  const areas: MetadataArea[] = [{ offsetSectors: d.anchor.lba, size: BLOCK, data: d.anchor.raw }];
  if (d.primaryAt && d.primaryAt !== d.header) areas.push({ offsetSectors: d.primaryAt.lba, size: BLOCK, data: d.primaryAt.raw });
  areas.push({ offsetSectors: d.header.lba, size: BLOCK, data: d.header.raw });
  if (d.secondary) areas.push({ offsetSectors: d.secondary.lba, size: BLOCK, data: d.secondary.raw });
  for (const t of [d.adapter, d.diskData, d.pdHeader, d.vdHeader]) if (t) areas.push({ offsetSectors: t.lba, size: t.raw.length, data: t.raw });
  areas.push({ offsetSectors: d.cfg.lba, size: d.cfg.raw.length, data: d.cfg.raw });
  return areas;
}
