/**
 * The activation walk of dmraid (activate_set): for each top-level set, its subsets first (recursively),
 * then the set itself; a group yields no table; a subset that cannot be mapped stops its superset.
 */
import { mappedRef, memberRef, type RaidSet } from '@dmraid/core';
import { dmDevice, type ActivationPlan, type DmDevice } from './plan.js';
import { partitionDevices, type Partition } from './partitions.js';
import { setTable, type Problem, type TableOptions } from './tables.js';

export interface PlanOptions extends TableOptions {
  /** Partitions found on sets (by set name), added as partition devices; dmraid reads them after activation. */
  readonly partitions?: boolean | ReadonlyMap<string, readonly Partition[]>;
  /** `-P CHAR` (default `p`). */
  readonly partChar?: string;
  /** The handler's activation gate for a group (isw's bbm_log check); false blocks the group. */
  readonly canActivate?: (set: RaidSet) => boolean;
  /** Sets already present in the device-mapper: left as they are (their subsets too). */
  readonly active?: (name: string) => boolean;
}

export interface PlanResult {
  readonly plan: ActivationPlan;
  /** Errors in dmraid's words and order (`ERROR: <text>`). */
  readonly problems: readonly Problem[];
  /** Names of top-level sets found already active (`RAID set "<name>" already active`). */
  readonly alreadyActive: readonly string[];
}

export function planActivation(sets: readonly RaidSet[], options: PlanOptions = {}): PlanResult {
  const devices: DmDevice[] = [];
  const shown: { name: string; table: string | undefined }[] = [];
  const problems: Problem[] = [];
  const alreadyActive: string[] = [];

  const activate = (rs: RaidSet, role: DmDevice['role']): boolean => {
    if (options.active?.(rs.name)) {
      alreadyActive.push(rs.name);
      return true;
    }
    if (rs.type === 'group' && options.canActivate && !options.canActivate(rs)) {
      problems.push({ level: 'error', text: `RAID set "${rs.name}" can't be activated`, set: rs.name });
      return false;
    }
    // Where each subset's devices (its own subsets and helpers with it) start and end in the plan.
    const spans: { name: string; devices: [number, number]; shown: [number, number] }[] = [];
    for (const r of rs.sets) {
      const at = { devices: devices.length, shown: shown.length };
      if (!activate(r, rs.type === 'group' ? 'set' : 'subset') && rs.type !== 'group') return false;
      spans.push({ name: r.name, devices: [at.devices, devices.length], shown: [at.shown, shown.length] });
    }
    if (rs.type === 'group') return true;
    const t = setTable(rs, options);
    problems.push(...t.problems);
    if (!t.ok) return false;
    const mapped = new Set(t.targets?.flatMap((x) => x.args.flatMap((a) => (typeof a !== 'string' && a.kind === 'mapped' ? [a.name] : []))));
    if (t.targets !== undefined && !options.reference) {
      // A subset its superset does not map (the broken half of a degraded RAID10) is neither loaded nor
      // shown: its table maps the broken members to /dev/zero, which the kernel refuses. The reference
      // creates it anyway.
      for (const span of spans.reverse()) {
        if (mapped.has(span.name)) continue;
        devices.splice(span.devices[0], span.devices[1] - span.devices[0]);
        shown.splice(span.shown[0], span.shown[1] - span.shown[0]);
      }
    }
    for (const h of t.helpers) shown.push({ name: h.name, table: h.table });
    shown.push({ name: rs.name, table: t.table });
    if (t.targets === undefined || t.table === undefined) return true;
    devices.push(...t.helpers);
    const dependsOn = [...rs.sets.map((r) => r.name), ...t.helpers.map((h) => h.name)].filter((n) => mapped.has(n));
    // setTable's text: dmraid's trailing newline after a linear's subset line included (what -t prints).
    devices.push({ ...dmDevice({ name: rs.name, targets: t.targets, dependsOn, set: rs.name, role }), table: t.table });
    return true;
  };
  for (const rs of sets) activate(rs, 'set');

  if (options.partitions instanceof Map) {
    for (const d of [...devices]) {
      const parts = options.partitions.get(d.name);
      if (parts) devices.push(...partitionDevices(d.name, parts, options.partChar));
    }
  }
  return { plan: { devices, shown }, problems, alreadyActive };
}

/** `-t` output: `<set>: <table line>` for every line of every table (dmraid's display_table). */
export function tableLines(plan: ActivationPlan): string[] {
  return plan.shown.flatMap((s) => (s.table === undefined ? [`${s.name}: (null)`] : s.table.split('\n').map((l) => `${s.name}: ${l}`)));
}

/**
 * `-tay --overlay COW`: the kernel's `snapshot` over the set as `<set>-overlay`, `0 LEN snapshot
 * /dev/mapper/<set> COW P CHUNK`. Its writes go to COW (a block device: a loop device over the overlay
 * file) in the persistent exception store the engine's --overlay writes too; the set is only read.
 */
export function overlayDevice(set: DmDevice, cow: string, chunk: number): DmDevice {
  const length = set.targets.reduce((n, t) => n + t.length, 0);
  return dmDevice({
    name: `${set.name}-overlay`,
    targets: [{ start: 0, length, type: 'snapshot', args: [mappedRef(set.name), memberRef(cow), 'P', String(chunk)] }],
    dependsOn: [set.name],
    set: set.set,
    role: 'helper',
  });
}
