/** `-b [DEVICE...]`: the block devices, or those named. */
import { blockDeviceToJson } from '@dmraid/core';
import type { CommandContext } from '../context.js';
import { withDevices } from '../devices.js';
import { blockDeviceLine } from '../display.js';

export default async function command(ctx: CommandContext): Promise<number> {
  const { o, out } = ctx;
  return withDevices(ctx, { operands: 'instead' }, async (devices) => {
    const shown = o.devices && o.operands.length > 0 ? devices.filter((d) => o.operands.includes(d.path)) : devices;
    out.log('info', `Block device${shown.length === 1 ? '' : 's'} discovered:\n`);
    if (o.json) out.emitJson({ blockDevices: shown.map(blockDeviceToJson) });
    else for (const d of shown) out.line(blockDeviceLine(d, o));
    return 0;
  });
}
