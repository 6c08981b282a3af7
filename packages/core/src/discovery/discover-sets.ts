/**
 * The library's one call: devices in, sets out. It is the whole of what `dmraid -s` does below the CLI
 * (read every device with every handler, decide conflicts, group, set stale members aside, check, name),
 * and the CLI's own discovery runs through it, so a library user gets exactly the sets the command shows.
 */
import { isIoError, openDevice, type BlockDevice, type IoError } from '../device/device.js';
import type { FormatHandler } from '../format/handler.js';
import { nullLog, type Log } from '../format/log.js';
import type { DeviceInfo, RaidDevice, RaidSet } from '../model/raid.js';
import { buildSets, diskDevices, discover } from './discover.js';
import { loadHandlers } from './handlers.js';

export interface DiscoverSetsOptions {
  /**
   * What to read: devices already open (they stay open: the caller closes them), or paths of image files
   * and block devices, opened read-only here and closed before the call returns.
   */
  readonly devices: readonly (BlockDevice | string)[];
  /**
   * The handlers to probe with, in registration order. Default: the installed ones (loadHandlers), a
   * package that cannot be loaded reported to `log` as an error line.
   */
  readonly handlers?: readonly FormatHandler[];
  /** Where the messages go, in dmraid's words and order; default nowhere. */
  readonly log?: Log;
  /** Folder the relative paths among `devices` start from (default the process's). */
  readonly cwd?: string;
  /** dmraid's -f: each entry a format-name prefix. */
  readonly formats?: readonly string[];
  /** Only probe the devices of these paths (the other devices still count as evidence in a conflict). */
  readonly paths?: readonly string[];
  /** Only the set of this exact name. */
  readonly name?: string;
  /** Keep a set that fails its check (a RAID5 short of a member) instead of dropping it, as recovery wants. */
  readonly keepFailed?: boolean;
  /** Per-format handler options (format name → key → value), dmraid's `-f format:key=value`. */
  readonly handlerOptions?: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Devices declared current (--include): their members are never set aside as stale. */
  readonly current?: ReadonlySet<DeviceInfo>;
  /** How many devices are read at once. */
  readonly concurrency?: number;
}

export interface DiscoveredSets {
  /** Every RAID device that counts, per-disk devices and further volumes, in device order. */
  readonly raidDevices: RaidDevice[];
  /** The per-disk RAID devices (what `dmraid -r` lists). */
  readonly disks: RaidDevice[];
  /** The per-disk RAID devices of formats that lost their disk to another format's metadata. */
  readonly superseded: RaidDevice[];
  /** The top-level sets, grouped, checked and named, as `dmraid -s` lists them. */
  readonly sets: RaidSet[];
}

/**
 * Discover the RAID sets on `devices`. A path that cannot be opened is the IoError naming it, and nothing
 * is read (given only open devices, no IoError can come back, and the type says so). Sets found on devices opened here by path describe devices already closed: to read a volume,
 * open the devices (openDevice) and pass them, or hand the member paths to the engine's openRun.
 */
export async function discoverSets(options: DiscoverSetsOptions & { readonly devices: readonly BlockDevice[] }): Promise<DiscoveredSets>;
export async function discoverSets(options: DiscoverSetsOptions): Promise<DiscoveredSets | IoError>;
export async function discoverSets(options: DiscoverSetsOptions): Promise<DiscoveredSets | IoError> {
  const opened: BlockDevice[] = [];
  const devices: BlockDevice[] = [];
  try {
    for (const d of options.devices) {
      if (typeof d !== 'string') {
        devices.push(d);
        continue;
      }
      const device = await openDevice(d, { cwd: options.cwd });
      if (isIoError(device)) return device;
      opened.push(device);
      devices.push(device);
    }
    const log = options.log ?? nullLog;
    const handlers = options.handlers ?? (await installedHandlers(log));
    const { raidDevices, superseded } = await discover({
      handlers,
      devices,
      formats: options.formats,
      paths: options.paths,
      log,
      handlerOptions: options.handlerOptions,
      current: options.current,
      concurrency: options.concurrency,
    });
    const disks = diskDevices(raidDevices);
    const sets = disks.length === 0 ? [] : buildSets(raidDevices, { handlers, log, name: options.name, keepFailed: options.keepFailed });
    return { raidDevices, disks, superseded: diskDevices(superseded), sets };
  } finally {
    await Promise.all(opened.map((d) => d.close()));
  }
}

async function installedHandlers(log: Log): Promise<FormatHandler[]> {
  const { handlers, problems } = await loadHandlers(undefined, { report: (text) => log('error', text) });
  for (const problem of problems) log('error', problem);
  return handlers.map((h) => h.handler);
}
