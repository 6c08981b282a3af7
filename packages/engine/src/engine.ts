/**
 * A run of mapped devices built from an activation plan's tables (in creation order), over member Sources
 * found by path: the userspace counterpart of `dmsetup create` for each device, then `dmsetup remove` in
 * reverse. Nothing here touches the kernel.
 */
import { resolve } from 'node:path';
import type { TableTarget } from '@dmraid/core';
import { SECTOR, type Source } from './source.js';

const DEV_ZERO: Source = {
  name: '/dev/zero',
  sizeSectors: Number.MAX_SAFE_INTEGER,
  read: async (_sector, count) => new Uint8Array(count * SECTOR),
  write: async () => true,
};
import { createMappedDevice, isTableError, type MappedDevice, type TableError } from './table.js';

/**
 * Member Sources by path, for `createEngine`'s lookup: a table names a member as the plan wrote its path
 * (relative to `cwd` or absolute); either form finds it.
 */
export function memberLookup(cwd: string): { add(path: string, source: Source): void; get(path: string): Source | undefined } {
  const byPath = new Map<string, Source>();
  return {
    add(path, source) {
      byPath.set(path, source);
      byPath.set(resolve(cwd, path), source);
    },
    get: (path) => byPath.get(path) ?? byPath.get(resolve(cwd, path)),
  };
}

/**
 * What the engine needs of @dmraid/activation's DmDevice: its table as data (`targets`), or as text (what
 * dmsetup reads; tests, hand-written tables).
 */
export type TableSpec = { readonly name: string; readonly targets: readonly TableTarget[] } | { readonly name: string; readonly table: string };

export interface Engine {
  /** Every mapped device, by name. */
  readonly devices: ReadonlyMap<string, MappedDevice>;
  /** Events reported by targets (missing members, failed legs), in order. */
  readonly events: readonly string[];
  get(name: string): MappedDevice | undefined;
  destroy(): void;
}

/**
 * Build every table. `members` resolves a member device argument (its path as the plan or the text has it). A table that does not construct ends the run: the error names device and target.
 */
export function createEngine(
  tables: readonly TableSpec[],
  members: (path: string) => Source | undefined,
  onEvent?: (message: string) => void,
): Engine | TableError {
  const devices = new Map<string, MappedDevice>();
  const events: string[] = [];
  const destroy = () => {
    for (const d of [...devices.values()].reverse()) d.destroy();
    devices.clear();
  };
  for (const spec of tables) {
    const md = createMappedDevice(spec.name, 'targets' in spec ? spec.targets : spec.table, {
      resolve: (ref) => {
        if (ref.kind === 'mapped') return devices.get(ref.name);
        // dmraid 1.0.0.rc16 maps the piece of a missing member to /dev/zero (the kernel refuses a character
        // device; we read it as the zero target, so the rest of the volume stays readable).
        if (ref.kind === 'zero') return DEV_ZERO;
        return members(ref.path);
      },
      report: (message) => {
        const text = `${spec.name}: ${message}`;
        events.push(text);
        onEvent?.(text);
      },
    });
    if (isTableError(md)) {
      destroy();
      return md;
    }
    devices.set(spec.name, md);
  }
  return { devices, events, get: (name) => devices.get(name), destroy };
}
