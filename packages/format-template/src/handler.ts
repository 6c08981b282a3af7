/**
 * The handler of the made-up format in layout.ts: RAID0 and RAID1 sets. It shows the whole
 * contract in its smallest form: read (find, validate, describe one disk), group (the common ATARAID
 * placement), check (member count from the metadata), log (-n from the field table) and write.
 */
import {
  cString,
  defineFormat,
  equalBytes,
  fieldLines,
  mkAlpha,
  placeMember,
  writeAreas,
  type BlockDevice,
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

export const template = defineFormat<TemplateMetadata>({
  apiVersion: 1,
  name: NAME,
  description: 'dmraid format template',
  levels: '0,1',

  async read(device: BlockDevice, ctx) {
    if (device.sizeSectors < TEMPLATE_END_OFFSET) return [];
    const metaSector = device.sizeSectors - TEMPLATE_END_OFFSET;
    const raw = await ctx.read(device, metaSector * 512, templateLayout.size);
    if (!raw) return [];
    const m = templateLayout.decodeFrom(raw);
    // Not ours: say nothing. Ours but damaged: say so, then dmraid's "setting up" line.
    if (!equalBytes(m.signature, TEMPLATE_SIGNATURE)) return [];
    if (templateChecksum(raw) !== m.checksum) {
      ctx.error(`checksum error on ${device.path}`);
      ctx.setupFailed(device);
      return [];
    }
    if (!m.data_sectors) {
      ctx.error(`zero sectors on ${device.path}`);
      ctx.setupFailed(device);
      return [];
    }
    return [
      {
        device,
        format: NAME,
        name: setName(m),
        type: raidType(m),
        status: 'ok',
        offset: 0,
        sectors: m.data_sectors,
        areas: [{ offsetSectors: metaSector, size: templateLayout.size, data: raw }],
        meta: m,
      },
    ];
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

  async write(rd, device, ctx, erase) {
    const data = templateLayout.encodeToBytes(meta(rd));
    return writeAreas(device, rd.areas.map((a) => ({ ...a, data })), ctx, erase);
  },
});
