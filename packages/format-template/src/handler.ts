/**
 * The handler of the made-up format in layout.ts: RAID0 and RAID1 sets. It shows the whole
 * contract in its smallest form: read (find, validate, describe one disk), group (the common ATARAID
 * placement), check (member count from the metadata), log (-n from the field table) and write.
 */
import {
  blockReader,
  cString,
  defineFormat,
  equalBytes,
  fieldLines,
  mkAlpha,
  placeMember,
  writeMetadata,
  type RaidDevice,
  type RaidType,
} from '@dmraid/core';
import {
  TEMPLATE_END_OFFSET,
  TEMPLATE_SIGNATURE,
  TEMPLATE_T_RAID0,
  TEMPLATE_T_RAID1,
  templateChecksum,
  templateLayout,
  type TemplateMetadata,
} from './layout.js';

const NAME = 'template';

function raidType(m: TemplateMetadata): RaidType {
  switch (m.level) {
    case TEMPLATE_T_RAID0:
      return 'raid0';
    case TEMPLATE_T_RAID1:
      return 'raid1';
    default:
      return 'undef';
  }
}

/** dmraid's naming habit: format name, underscore, the set id with digits spelled as letters. */
export const setName = (m: TemplateMetadata) => `${NAME}_${mkAlpha(m.set_id.toString(16))}`;

const meta = (rd: RaidDevice) => rd.meta as TemplateMetadata;

/**
 * Core's read path for a one-block format: it reads the block, stays silent when the signature is not
 * ours, reports a damaged checksum or a zero data length with dmraid's messages, and builds the RaidDevice
 * (format, device, metadata area, decoded meta) around what `member` says.
 */
const readBlock = blockReader({
  layout: templateLayout,
  at: { fromEnd: TEMPLATE_END_OFFSET },
  identifiedBy: ['signature'],
  isOurs: (m) => equalBytes(m.signature, TEMPLATE_SIGNATURE),
  // failsSetup: the error is followed by dmraid's "setting up RAID device" line.
  checksum: { valid: (m, raw) => templateChecksum(raw) === m.checksum, message: 'checksum error', failsSetup: true },
  member: ({ meta: m }) => ({ name: setName(m), type: raidType(m), status: 'ok', sectors: m.data_sectors }),
});

export const template = defineFormat<TemplateMetadata>({
  apiVersion: 1,
  name: NAME,
  description: 'dmraid format template',
  levels: '0,1',

  async read(device, ctx) {
    // A disk too small to hold the block is not ours (dmraid's own handlers print a seek error instead).
    if (device.sizeSectors < TEMPLATE_END_OFFSET) return [];
    return readBlock(device, ctx);
  },

  group(rd, ctx) {
    const m = meta(rd);
    return placeMember(ctx, rd, {
      stride: rd.type === 'raid0' ? 1 << m.stripe_shift : 0,
      rawType: m.level,
      before: (a, b) => meta(a).disk_number < meta(b).disk_number,
    });
  },

  check(set, ctx) {
    return ctx.checkRaidSet(set, { devices: (rd) => meta(rd).disks });
  },

  log(rd) {
    return [
      `${rd.device.path} (${NAME}):`,
      ...fieldLines(templateLayout, meta(rd), {
        signature: (v: Uint8Array) => cString(v),
        checksum: 'x',
        set_id: 'x',
        reserved: 'skip',
        label: (v: Uint8Array) => `"${cString(v)}"`,
      }),
    ];
  },

  write: writeMetadata,
});
