/**
 * SNIA DDF 1.x metadata (dmraid's ddf1.h, SNIA DDF 1.2 for the spare and secondary-level fields). Every
 * multi-byte field is declared without a byte order: the anchor's signature bytes decide it (DE 11 DE 11 big,
 * 11 DE 11 DE little) and every table is decoded with that `{ endian }`.
 */
import { array, bytes, struct, u8, u16, u32, u64, type StructValue } from '@dmraid/core';

/** DDF timestamps count seconds from 1980-01-01T00:00:00Z (mdadm's DECADE); this is that instant in Unix seconds. */
export const DDF_EPOCH_SECONDS = 315532800;
/** A Unix time (seconds) as a DDF timestamp. */
export const ddfTimestamp = (unixSeconds: number) => Math.max(0, unixSeconds - DDF_EPOCH_SECONDS) >>> 0;

export const DDF1_HEADER = 0xde11de11;
export const DDF1_HEADER_BACKWARDS = 0x11de11de;
export const DDF1_ADAPTER_DATA = 0xad111111;
export const DDF1_PHYS_DRIVE_REC = 0x22222222;
/** Disk data ("forced PD GUID") signature; mdadm before 3.2 also wrote it on the physical drive section. */
export const DDF1_FORCED_PD_GUID = 0x33333333;
export const DDF1_VIRT_DRIVE_REC = 0xdddddddd;
export const DDF1_VD_CONFIG_REC = 0xeeeeeeee;
export const DDF1_SPARE_REC = 0x55555555;
export const DDF1_INVALID = 0xffffffff;
export const PCI_VENDOR_ID_ADAPTEC2 = 0x9005;

/** DDF RAID levels (primary_raid_level). */
export const DDF1_RAID0 = 0x00;
export const DDF1_RAID1 = 0x01;
export const DDF1_RAID3 = 0x03;
export const DDF1_RAID4 = 0x04;
export const DDF1_RAID5 = 0x05;
export const DDF1_RAID6 = 0x06;
export const DDF1_JBOD = 0x0f;
export const DDF1_RAID1E = 0x11;
export const DDF1_RAID5E = 0x15;
export const DDF1_RAID6_DMRAID = 0x16;
export const DDF1_CONCAT = 0x1f;
export const DDF1_RAID5EE = 0x25;
/** RAID5 qualifiers. */
export const DDF1_RAID5_RS = 0;
export const DDF1_RAID5_LA = 2;
export const DDF1_RAID5_LS = 3;
/** RAID6 qualifiers (SNIA DDF 2.0 §4.2.2; mdadm super-ddf.c): rotating parity 0 with data restart, N restart, N continuation. */
/** RAID1E qualifiers (mdadm super-ddf.c): adjacent copies (md raid10 near=2), offset copies (offset=2). */
export const DDF1_RAID1E_ADJACENT = 0;
export const DDF1_RAID1E_OFFSET = 1;
export const DDF1_RAID6_ZR = 1;
export const DDF1_RAID6_NR = 2;
export const DDF1_RAID6_NC = 3;
/** Secondary RAID levels (secondary_element_raid_level), how several basic VDs make one VD. */
export const DDF1_2STRIPED = 0x00;
export const DDF1_2MIRRORED = 0x01;
export const DDF1_2CONCAT = 0x02;
export const DDF1_2SPANNED = 0x03;

export const BLOCK = 512;
export const GUID_LENGTH = 24;
/** Sectors from the end of the disk to the anchor: 1, or 257 on some Adaptec controllers. */
export const ANCHOR_END = 1;
export const ANCHOR_END_ADAPTEC = 257;

export const ddf1Header = struct(
  {
    signature: u32.at(0x000),
    crc: u32.at(0x004),
    guid: bytes(GUID_LENGTH).at(0x008),
    ddf_rev: bytes(8).at(0x020),
    seqnum: u32.at(0x028),
    timestamp: u32.at(0x02c),
    open_flag: u8.at(0x030),
    foreign_flag: u8.at(0x031),
    grouping_enforced: u8.at(0x032),
    primary_table_lba: u64.at(0x060),
    secondary_table_lba: u64.at(0x068),
    header_type: u8.at(0x070),
    workspace_length: u32.at(0x074),
    workspace_lba: u64.at(0x078),
    max_phys_drives: u16.at(0x080),
    max_virt_drives: u16.at(0x082),
    max_partitions: u16.at(0x084),
    vd_config_record_len: u16.at(0x086),
    max_primary_elements: u16.at(0x088),
    adapter_data_offset: u32.at(0x0c0),
    adapter_data_len: u32.at(0x0c4),
    phys_drive_offset: u32.at(0x0c8),
    phys_drive_len: u32.at(0x0cc),
    virt_drive_offset: u32.at(0x0d0),
    virt_drive_len: u32.at(0x0d4),
    config_record_offset: u32.at(0x0d8),
    config_record_len: u32.at(0x0dc),
    disk_data_offset: u32.at(0x0e0),
    disk_data_len: u32.at(0x0e4),
    badblock_offset: u32.at(0x0e8),
    badblock_len: u32.at(0x0ec),
    diag_offset: u32.at(0x0f0),
    diag_len: u32.at(0x0f4),
    vendor_offset: u32.at(0x0f8),
    vendor_len: u32.at(0x0fc),
  },
  { size: BLOCK, name: 'ddf1_header' },
);

export const ddf1Adapter = struct(
  {
    signature: u32.at(0x00),
    crc: u32.at(0x04),
    guid: bytes(GUID_LENGTH).at(0x08),
    pci_vendor: u16.at(0x20),
    pci_device: u16.at(0x22),
    pci_subvendor: u16.at(0x24),
    pci_subdevice: u16.at(0x26),
  },
  { size: BLOCK, name: 'ddf1_adapter' },
);

export const ddf1DiskData = struct(
  {
    signature: u32.at(0x00),
    crc: u32.at(0x04),
    guid: bytes(GUID_LENGTH).at(0x08),
    reference: u32.at(0x20),
    forced_ref_flag: u8.at(0x24),
    forced_guid_flag: u8.at(0x25),
  },
  { size: BLOCK, name: 'ddf1_disk_data' },
);

/** Header of the physical and of the virtual drive sections; 64-byte records follow. */
export const ddf1Drives = struct(
  {
    signature: u32.at(0x00),
    crc: u32.at(0x04),
    num_drives: u16.at(0x08),
    max_drives: u16.at(0x0a),
  },
  { size: 64, name: 'ddf1_drives' },
);

export const ddf1PhysDrive = struct(
  {
    guid: bytes(GUID_LENGTH).at(0x00),
    reference: u32.at(0x18),
    type: u16.at(0x1c),
    state: u16.at(0x1e),
    size: u64.at(0x20),
    path_info: bytes(18).at(0x28),
  },
  { size: 64, name: 'ddf1_phys_drive' },
);

export const ddf1VirtDrive = struct(
  {
    guid: bytes(GUID_LENGTH).at(0x00),
    vd_num: u16.at(0x18),
    type: u32.at(0x1c),
    state: u8.at(0x20),
    init_state: u8.at(0x21),
    name: bytes(16).at(0x30),
  },
  { size: 64, name: 'ddf1_virt_drive' },
);

/** The 512-byte head of a VD configuration record; the member arrays follow at 0x200. */
export const ddf1ConfigRecord = struct(
  {
    signature: u32.at(0x00),
    crc: u32.at(0x04),
    guid: bytes(GUID_LENGTH).at(0x08),
    timestamp: u32.at(0x20),
    seqnum: u32.at(0x24),
    primary_element_count: u16.at(0x40),
    stripe_size: u8.at(0x42),
    raid_level: u8.at(0x43),
    raid_qualifier: u8.at(0x44),
    secondary_element_count: u8.at(0x45),
    secondary_element_number: u8.at(0x46),
    secondary_element_raid_level: u8.at(0x47),
    sectors: u64.at(0x48),
    size: u64.at(0x50),
    spares: array(u32, 8).at(0x60),
    cache_policy: u64.at(0x80),
    bg_task_rate: u8.at(0x88),
  },
  { size: BLOCK, name: 'ddf1_config_record' },
);

/** Spare assignment record head; 32-byte ddf1_spare entries follow at 0x20. */
export const ddf1SpareHeader = struct(
  {
    signature: u32.at(0x00),
    crc: u32.at(0x04),
    timestamp: u32.at(0x08),
    type: u8.at(0x13),
    num_spares: u16.at(0x14),
    max_spares: u16.at(0x16),
  },
  { size: 32, name: 'ddf1_spare_header' },
);

export const ddf1Spare = struct(
  {
    guid: bytes(GUID_LENGTH).at(0x00),
    secondary_element: u16.at(0x18),
  },
  { size: 32, name: 'ddf1_spare' },
);

export const u32Cell = struct({ value: u32.at(0) }, { size: 4, name: 'u32' });
export const u64Cell = struct({ value: u64.at(0) }, { size: 8, name: 'u64' });

export type Ddf1Header = StructValue<typeof ddf1Header>;
export type Ddf1Adapter = StructValue<typeof ddf1Adapter>;
export type Ddf1DiskData = StructValue<typeof ddf1DiskData>;
export type Ddf1Drives = StructValue<typeof ddf1Drives>;
export type Ddf1PhysDrive = StructValue<typeof ddf1PhysDrive>;
export type Ddf1VirtDrive = StructValue<typeof ddf1VirtDrive>;
export type Ddf1ConfigRecord = StructValue<typeof ddf1ConfigRecord>;
export type Ddf1SpareHeader = StructValue<typeof ddf1SpareHeader>;
export type Ddf1Spare = StructValue<typeof ddf1Spare>;
