/**
 * What the monitor asks of the running system besides dmsetup: device numbers, which device-mapper devices
 * hold a disk, whether a disk still reads. Injectable, so the event loop is tested on a fake kernel.
 */
import { constants, promises as fs } from 'node:fs';
import { basename, join } from 'node:path';
import type { KernelActivator } from '@dmraid/activation';

// Loaded when asked: -R loads this module for every run, the activation package only for a live set.
const deviceNumber = async (path: string) => (await import('@dmraid/activation')).deviceNumber(path);

export interface MonitorSystem {
  readonly kernel: KernelActivator;
  /** `major:minor` of a block device path; undefined for a file. */
  readonly numberOf: (path: string) => Promise<string | undefined>;
  /** The device-mapper name of device `major:minor`; undefined when it is no dm device. */
  readonly dmName: (number: string) => Promise<string | undefined>;
  /** Whether the disk `major:minor` still answers a read that bypasses the page cache. */
  readonly reads: (number: string) => Promise<boolean>;
  /** The dm devices holding a block device (sysfs holders/); undefined for a file. */
  readonly holders: (path: string) => Promise<string[] | undefined>;
  /**
   * The block devices and the device-mapper devices' uuids, as one string (sysfs): when it changes, a disk or
   * a set came or went. The monitor's idle rescan looks at this, not at the disks.
   */
  readonly inventory: () => Promise<string>;
  /**
   * dmraid's lock (the one `-ay` takes), held while the monitor writes metadata or reloads a table, so that
   * neither runs beside an activation; an error text (dmraid's words) when it cannot be had in time.
   */
  readonly lock: () => Promise<{ release(): Promise<void> } | string>;
}

export function realSystem(kernel: KernelActivator, sysfs = '/sys'): MonitorSystem {
  const dmName = async (number: string) => (await fs.readFile(join(sysfs, 'dev/block', number, 'dm/name'), 'utf8').catch(() => undefined))?.trim() || undefined;
  return {
    kernel,
    numberOf: deviceNumber,
    dmName,
    async reads(number) {
      const link = await fs.readlink(join(sysfs, 'dev/block', number)).catch(() => undefined);
      if (link === undefined) return false;
      const state = await fs.readFile(join(sysfs, 'dev/block', number, 'device/state'), 'utf8').catch(() => 'running');
      if (state.trim() === 'offline') return false;
      // O_DIRECT: a cached sector would answer for a disk that is gone. A buffer this large is mmap'ed,
      // hence page-aligned, as O_DIRECT wants.
      const h = await fs.open(join('/dev', basename(link)), constants.O_RDONLY | constants.O_DIRECT).catch(() => undefined);
      if (!h) return false;
      try {
        const r = await h.read(Buffer.alloc(1 << 17), 0, 4096, 0);
        return r.bytesRead === 4096;
      } catch {
        return false;
      } finally {
        await h.close();
      }
    },
    async inventory() {
      const names = (await fs.readdir(join(sysfs, 'class/block')).catch(() => [] as string[])).sort();
      const uuids = await Promise.all(names.map(async (n) => (n.startsWith('dm-') ? (await fs.readFile(join(sysfs, 'class/block', n, 'dm/uuid'), 'utf8').catch(() => '')).trim() : '')));
      return names.map((n, i) => `${n} ${uuids[i]}`).join('\n');
    },
    async lock() {
      const act = await import('@dmraid/activation');
      return act.acquireLock(process.env.DMRAID_LOCKFILE || act.LOCK_FILE, Number(process.env.DMRAID_LOCK_WAIT_MS) || undefined);
    },
    async holders(path) {
      const number = await deviceNumber(path);
      if (number === undefined) return undefined;
      const dir = join(sysfs, 'dev/block', number, 'holders');
      const names = await fs.readdir(dir).catch(() => [] as string[]);
      const out: string[] = [];
      for (const n of names) out.push((await fs.readFile(join(sysfs, 'class/block', n, 'dm/name'), 'utf8').catch(() => n)).trim());
      return out;
    },
  };
}
