/**
 * The devices a command works on: --devices in the order given, else dmraid's /sys/block scan; and the probe
 * and grouping of what they hold. main gives each command these as its context's openDevices/probe/discover.
 */
import { promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import {
  diskDevices,
  discover,
  discoverSets,
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
  // The opened devices --include names, found when they are opened.
  const current = new Set<BlockDevice>();
  const probe: CommandContext['probe'] = async (devices, paths) => {
    const { raidDevices, superseded } = await discover({ handlers, devices, formats: o.formats, paths, log: out.log, handlerOptions: o.handlerOptions, current });
    return { raidDevices, disks: diskDevices(raidDevices), superseded: diskDevices(superseded) };
  };
  return {
    async openDevices(writable, options = {}) {
      const opened = await openDevices(o, out, roots, writable, cwd, sectorSizes, options.operands);
      return opened && userChoices(o, out, cwd, opened, current);
    },
    probe,
    // The library's discoverSets: the CLI's sets are the ones a library user gets for the same devices.
    async discover(devices, options = {}) {
      return discoverSets({ handlers, devices, formats: o.formats, paths: options.paths, log: out.log, handlerOptions: o.handlerOptions, current, name: options.name, keepFailed: options.keepFailed });
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
  // A block device is read synchronously until a read is slow (core device.ts): a command waits for its disks
  // anyway, but the monitor, which runs for good and answers signals and its socket, reads through the thread
  // pool from the first read, so a hung disk stalls no more than its own probe.
  const reads = o.mode === 'monitor' ? { slowReadMs: 0 } : {};
  const fail = async (path: string, message: string) => {
    out.log('error', `cannot open device "${path}": ${message}`);
    await Promise.all(opened.map((d) => d.close()));
    return undefined;
  };
  if (o.devices) {
    for (const spec of o.devices) {
      const { path, serial } = await parseDeviceSpec(spec, cwd);
      const d = await openDevice(path, { serial, writable, sysfs: roots.sysfs, cwd, ...reads });
      if (isIoError(d)) return fail(path, d.message);
      opened.push(d);
    }
    return opened;
  }
  // -b lists its device arguments in reverse order, as dmraid does.
  if (operands === 'instead' && o.operands.length > 0) {
    for (const path of [...o.operands].reverse()) {
      const d = await openDevice(path, { sysfs: roots.sysfs, cwd, ...reads });
      if (isIoError(d)) return fail(path, d.message);
      opened.push(d);
    }
    return opened;
  }
  const scan = await scanBlockDevices(roots.sysfs, roots.dev);
  for (const n of scan.notices) out.log('notice', n);
  for (const entry of scan.devices) {
    const d = await openDevice(entry.path, { writable, sysfs: roots.sysfs, ...reads });
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
      const d = await openDevice(path, { writable, sysfs: roots.sysfs, cwd, ...reads });
      if (isIoError(d)) return fail(path, d.message);
      opened.push(d);
    }
  }
  return opened;
}

/** What a path is, whatever it is called: a block device by its number, a file by its inode. */
async function identity(path: string, cwd: string): Promise<string | undefined> {
  try {
    const st = await fs.stat(resolve(cwd, path));
    return st.isBlockDevice() ? `b${st.rdev}` : `f${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * --exclude and --include on the opened devices: the excluded closed and left out, the included added to
 * `current`. Each must name one of them (a mistyped name is an error, not an option silently without effect).
 */
async function userChoices(o: Options, out: Output, cwd: string, opened: BlockDevice[], current: Set<BlockDevice>): Promise<BlockDevice[] | undefined> {
  if (o.exclude.length === 0 && o.include.length === 0) return opened;
  const ids = await Promise.all(opened.map((d) => identity(d.path, cwd)));
  const find = async (option: string, path: string): Promise<BlockDevice[] | undefined> => {
    const id = await identity(path, cwd);
    const found = id === undefined ? [] : opened.filter((_, i) => ids[i] === id);
    if (found.length > 0) return found;
    out.log('error', `${option} "${path}": ${id === undefined ? 'no such device or file' : 'not among the devices worked on'}`);
    return undefined;
  };
  const excluded = new Set<BlockDevice>();
  for (const path of o.exclude) {
    const found = await find('--exclude', path);
    if (!found) return closeAll(opened);
    for (const d of found) excluded.add(d);
  }
  for (const path of o.include) {
    const found = await find('--include', path);
    if (!found) return closeAll(opened);
    if (found.some((d) => excluded.has(d))) {
      out.log('error', `--include "${path}" and --exclude name the same device`);
      return closeAll(opened);
    }
    for (const d of found) current.add(d);
  }
  await Promise.all([...excluded].map((d) => d.close()));
  return opened.filter((d) => !excluded.has(d));
}

async function closeAll(devices: readonly BlockDevice[]): Promise<undefined> {
  await Promise.all(devices.map((d) => d.close()));
  return undefined;
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
