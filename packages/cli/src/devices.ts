/**
 * The devices a command works on: --devices in the order given, else dmraid's /sys/block scan; and the probe
 * and grouping of what they hold. main gives each command these as its context's openDevices/probe/discover.
 */
import {
  buildSets,
  diskDevices,
  discoverRaidDevices,
  isIoError,
  openDevice,
  parseDeviceSpec,
  scanBlockDevices,
  type BlockDevice,
  type FormatHandler,
  type WritableDevice,
} from '@dmraid/core';
import type { CommandContext, Output } from './context.js';
import { formatError } from './display.js';
import type { Options } from './options.js';

export interface DeviceRoots {
  /** sysfs and /dev roots for scanning (tests). */
  readonly sysfs?: string;
  readonly dev?: string;
}

/** openDevices, probe and discover of a run's context. */
export function deviceAccess(
  o: Options,
  out: Output,
  cwd: string,
  handlers: readonly FormatHandler[],
  roots: DeviceRoots,
): Pick<CommandContext, 'openDevices' | 'probe' | 'discover'> {
  // Scanned disks of another logical sector size than 512 are dmraid's "unsupported sector size" unless a
  // handler takes them.
  const sectorSizes = new Set([512, ...handlers.flatMap((h) => h.sectorSizes ?? [])]);
  const probe: CommandContext['probe'] = async (devices, paths) => {
    const raidDevices = await discoverRaidDevices({ handlers, devices, formats: o.formats, paths, log: out.log, handlerOptions: o.handlerOptions });
    return { raidDevices, disks: diskDevices(raidDevices) };
  };
  return {
    openDevices: (writable, options = {}) => openDevices(o, out, roots, writable, cwd, sectorSizes, options.operands),
    probe,
    async discover(devices, options = {}) {
      const { raidDevices, disks } = await probe(devices, options.paths);
      const sets = disks.length === 0 ? [] : buildSets(raidDevices, { handlers: [...handlers], log: out.log, name: options.name });
      return { raidDevices, disks, sets };
    },
  };
}

async function openDevices(
  o: Options,
  out: Output,
  roots: DeviceRoots,
  writable: boolean,
  cwd: string,
  sectorSizes: ReadonlySet<number>,
  operands: 'instead' | 'also' | undefined,
): Promise<BlockDevice[] | undefined> {
  const opened: WritableDevice[] = [];
  const fail = async (path: string, message: string) => {
    out.log('error', `cannot open device "${path}": ${message}`);
    await Promise.all(opened.map((d) => d.close()));
    return undefined;
  };
  if (o.devices) {
    for (const spec of o.devices) {
      const { path, serial } = await parseDeviceSpec(spec, cwd);
      const d = await openDevice(path, { serial, writable, sysfs: roots.sysfs, cwd });
      if (isIoError(d)) return fail(path, d.message);
      opened.push(d);
    }
    return opened;
  }
  // -b lists its device arguments in reverse order, as dmraid does.
  if (operands === 'instead' && o.operands.length > 0) {
    for (const path of [...o.operands].reverse()) {
      const d = await openDevice(path, { sysfs: roots.sysfs, cwd });
      if (isIoError(d)) return fail(path, d.message);
      opened.push(d);
    }
    return opened;
  }
  const scan = await scanBlockDevices(roots.sysfs, roots.dev);
  for (const n of scan.notices) out.log('notice', n);
  for (const entry of scan.devices) {
    const d = await openDevice(entry.path, { writable, sysfs: roots.sysfs });
    if (isIoError(d)) {
      out.log('notice', `skipping ${entry.path}: ${d.message}`);
      continue;
    }
    if (!sectorSizes.has(d.sectorSize)) {
      out.log('error', `unsupported sector size ${d.sectorSize} on ${d.path}.`);
      await d.close();
      continue;
    }
    opened.push(d);
  }
  // Device arguments name image files too: add those not found by the scan.
  if (operands === 'also') {
    for (const path of o.operands) {
      if (opened.some((d) => d.path === path)) continue;
      const d = await openDevice(path, { writable, sysfs: roots.sysfs, cwd });
      if (isIoError(d)) return fail(path, d.message);
      opened.push(d);
    }
  }
  return opened;
}

/**
 * `use` on the opened devices, which are closed after it: 1 without calling it when opening failed (the error
 * is printed) or found no device.
 */
export async function withDevices(
  ctx: CommandContext,
  options: { writable?: boolean; operands?: 'instead' | 'also' },
  use: (devices: BlockDevice[]) => Promise<number>,
): Promise<number> {
  const devices = await ctx.openDevices(options.writable ?? false, { operands: options.operands });
  if (!devices) return 1;
  try {
    if (devices.length === 0) {
      ctx.out.log('print', 'no block devices found');
      return 1;
    }
    return await use(devices);
  } finally {
    await Promise.all(devices.map((d) => d.close()));
  }
}

/** No RAID disk among the devices: dmraid's format_error line (with --json, a document with none). */
export function noRaidDisks(ctx: CommandContext): number {
  if (ctx.o.json) ctx.out.emitJson({ raidDevices: [], sets: [] });
  else ctx.out.log('print', formatError(ctx.o, 'disks'));
  return 1;
}
