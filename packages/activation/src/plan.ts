import { memberPaths, renderTable, type TableTarget } from '@dmraid/core';

/**
 * What activation produces from the model: the device-mapper devices of one or more RAID sets, each with
 * the table text `dmsetup create NAME` takes on stdin. The kernel activator loads them with dmsetup; the
 * userspace engine (@dmraid/engine) serves the same tables from member files.
 */
export interface DmDevice {
  /** The mapped device's name: `/dev/mapper/<name>`. */
  readonly name: string;
  /** The table as data: what the userspace engine is built from. */
  readonly targets: readonly TableTarget[];
  /**
   * The table as text (`<start> <length> <target> <args...>` lines joined by '\n', device paths escaped as
   * the kernel reads them): for dmsetup and `-t`, rendered from `targets`, never read back.
   */
  readonly table: string;
  /**
   * The member devices (disks, image files) its targets map onto, by the path they were opened by: what
   * the userspace engine opens, found from the data, never from the text.
   */
  readonly members: readonly string[];
  /** Names of other devices of the same plan its table references as /dev/mapper/<name>. */
  readonly dependsOn: readonly string[];
  /** The set this device belongs to (a sub-set `<set>-0`, a partition `<set>p1`, or the set itself). */
  readonly set: string;
  readonly role: 'set' | 'subset' | 'partition' | 'helper';
}

export interface ActivationPlan {
  /** In creation order: every device after the devices it depends on. Removal is the reverse. */
  readonly devices: readonly DmDevice[];
  /**
   * What `-t` prints, in dmraid's order: one entry per set it would activate, with the set's table, or
   * undefined where dmraid has none to show (it prints `(null)`). Helper devices are not listed.
   */
  readonly shown: readonly { readonly name: string; readonly table: string | undefined }[];
}

/** A device of the plan, its table text and its members found from its targets. */
export function dmDevice(d: Omit<DmDevice, 'table' | 'members'>): DmDevice {
  return { ...d, table: renderTable(d.targets), members: memberPaths(d.targets) };
}
