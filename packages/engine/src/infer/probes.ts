/**
 * Structures that sit at known places of a volume and span chunk boundaries: a volume's first sector (MBR,
 * GPT, a filesystem's boot block), and inside a filesystem what repeats or counts at known distances (ext4's
 * backup superblocks, FAT's second FAT, NTFS's numbered $MFT records). A right geometry finds them where the
 * first sector says; a wrong one reads another member's chunk there.
 */
import { bytes, struct, u16le, u32le, u64le, u8 } from '@dmraid/core';

/** The fields of a volume's first 2 KiB that the probes read (MBR/boot sector, GPT header, ext superblock). */
const start = struct(
  {
    oem: bytes(8).at(0x03),
    bytesPerSector: u16le.at(0x0b),
    sectorsPerCluster: u8.at(0x0d),
    reservedSectors: u16le.at(0x0e),
    fats: u8.at(0x10),
    fatSectors16: u16le.at(0x16),
    fatSectors32: u32le.at(0x24),
    mftCluster: u64le.at(0x30),
    part1Type: u8.at(0x1c2),
    part1Start: u32le.at(0x1c6),
    bootSignature: u16le.at(0x1fe),
    gptSignature: bytes(8).at(0x200),
    gptEntriesLba: u64le.at(0x248),
    // ext2/3/4's superblock at byte 1024.
    s_blocks_count_lo: u32le.at(0x404),
    s_first_data_block: u32le.at(0x414),
    s_log_block_size: u32le.at(0x418),
    s_blocks_per_group: u32le.at(0x420),
    s_magic: u16le.at(0x438),
    s_block_group_nr: u16le.at(0x45a),
    s_feature_ro_compat: u32le.at(0x464),
  },
  { size: 2048, name: 'volume start' },
);
const gptEntry = struct({ type: bytes(16).at(0), firstLba: u64le.at(0x20) }, { size: 128, name: 'gpt entry' });
const extBackup = struct({ s_magic: u16le.at(0x38), s_block_group_nr: u16le.at(0x5a) }, { size: 1024, name: 'ext superblock' });
const mftRecord = struct({ magic: bytes(4).at(0), flags: u16le.at(0x16), number: u32le.at(0x2c) }, { size: 48, name: 'mft record' });

const EXT_MAGIC = 0xef53;
const text = (b: Uint8Array) => String.fromCharCode(...b);

export type StartKind = 'gpt' | 'mbr' | 'ext' | 'fat' | 'ntfs';

/** What a volume's first 2 KiB hold, if anything we know. */
export function startKind(b: Uint8Array): StartKind | undefined {
  if (b.length < 2048) return undefined;
  const s = start.decodeFrom(b);
  if (text(s.gptSignature) === 'EFI PART') return 'gpt';
  if (s.s_magic === EXT_MAGIC && s.s_block_group_nr === 0 && s.s_log_block_size <= 6 && s.s_blocks_per_group > 0) return 'ext';
  if (s.bootSignature !== 0xaa55) return undefined;
  if (text(s.oem) === 'NTFS    ') return 'ntfs';
  if (s.bytesPerSector === 512 && s.sectorsPerCluster > 0 && s.fats >= 1 && s.fats <= 2 && s.reservedSectors > 0) return 'fat';
  if (s.part1Type !== 0 && s.part1Start > 0) return 'mbr';
  return undefined;
}

/** Reads a volume's bytes, or undefined past what was sampled. */
export type VolumeRead = (byte: number, length: number) => Uint8Array | undefined;

/**
 * The evidence (in the join model's nats, roughly) that the volume `read` gives is laid out right: each
 * structure found where its filesystem says counts for, each one missing there against.
 */
export function structureScore(read: VolumeRead): number {
  const first = read(0, 2048);
  const kind = first && startKind(first);
  if (!first || !kind) return 0;
  if (kind === 'mbr' || kind === 'gpt') {
    const s = start.decodeFrom(first);
    let at: number | undefined = s.part1Start * 512;
    if (kind === 'gpt') {
      const entries = read(Number(s.gptEntriesLba) * 512, 128);
      at = entries ? Number(gptEntry.decodeFrom(entries).firstLba) * 512 : undefined;
    }
    if (at === undefined) return START;
    // A partition whose filesystem we do not know still says the table is where it should be.
    return filesystemScore((byte, length) => read(at + byte, length)) || START;
  }
  return filesystemScore(read);
}

/** A structure where its filesystem says: strong evidence (chance puts none there), as a few hundred joins. */
const WEIGHT = 300;
/** A volume that starts with a partition table or a filesystem: the data offset and first member are right. */
const START = 1000;

function filesystemScore(read: VolumeRead): number {
  const first = read(0, 2048);
  const kind = first && startKind(first);
  if (!first || !kind) return 0;
  const s = start.decodeFrom(first);
  let score = START;
  const count = (ok: boolean) => (score += ok ? WEIGHT : -WEIGHT);
  if (kind === 'ext') {
    const blockSize = 1024 << s.s_log_block_size;
    const groups = Math.ceil((s.s_blocks_count_lo - s.s_first_data_block) / s.s_blocks_per_group);
    const sparse = (s.s_feature_ro_compat & 1) !== 0;
    const isPower = (g: number, p: number) => {
      let x = p;
      while (x < g) x *= p;
      return x === g;
    };
    for (let g = 1; g < groups; g++) {
      if (sparse && g !== 1 && !isPower(g, 3) && !isPower(g, 5) && !isPower(g, 7)) continue;
      // A backup sits at its group's first block; with 1 KiB blocks the group starts at block 1.
      const at = (g * s.s_blocks_per_group + s.s_first_data_block) * blockSize;
      const b = read(at, 1024);
      if (!b) break;
      const sb = extBackup.decodeFrom(b);
      count(sb.s_magic === EXT_MAGIC && sb.s_block_group_nr === g);
    }
  } else if (kind === 'fat') {
    const fatBytes = (s.fatSectors16 || s.fatSectors32) * 512;
    const fat1 = s.reservedSectors * 512;
    if (s.fats === 2) {
      for (let at = 0; at < fatBytes; at += 4096) {
        const a = read(fat1 + at, Math.min(4096, fatBytes - at));
        const b = read(fat1 + fatBytes + at, Math.min(4096, fatBytes - at));
        if (!a || !b) break;
        if (a.every((x) => x === 0) && b.every((x) => x === 0)) continue;
        count(Buffer.from(a).equals(b));
      }
    }
  } else if (kind === 'ntfs') {
    const mft = Number(s.mftCluster) * s.sectorsPerCluster * s.bytesPerSector;
    for (let n = 0; n < 64; n++) {
      const r = read(mft + n * 1024, 48);
      if (!r) break;
      const rec = mftRecord.decodeFrom(r);
      if (text(rec.magic) !== 'FILE') {
        // The first 16 records are the system files, always there; later ones only where in use.
        if (n < 16) count(false);
        continue;
      }
      count(rec.number === n);
    }
  }
  return score;
}
