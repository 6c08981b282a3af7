/**
 * What activation produces from the model: the device-mapper devices of one or more RAID sets, each with
 * the table text `dmsetup create NAME` takes on stdin. The kernel activator loads them with dmsetup; the
 * userspace engine (@dmraid/engine) serves the same tables from member files.
 */
export interface DmDevice {
  /** The mapped device's name: `/dev/mapper/<name>`. */
  readonly name: string;
  /** Table lines (`<start> <length> <target> <args...>`), joined by '\n', no trailing newline. */
  readonly table: string;
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
