/**
 * JSON output of the model (`--json`) and its JSON Schema. The schema is the contract for scripts; tests
 * validate every JSON document the CLI prints against the published file.
 */
import { countDevs, setTypeDisplay, statusDisplay, totalSectors, typeDisplay, type Raid6Layout, type RaidDevice, type RaidSet } from '../model/raid.js';
import type { BlockDevice } from '../device/device.js';
import { memberState, setHealth, type Health, type MemberState } from '../model/health.js';
import documentSchema from '../../schema.json' with { type: 'json' };

export interface RaidDeviceJson {
  path: string;
  serial: string | null;
  format: string;
  set: string;
  type: string;
  status: string;
  sectors: number;
  offset: number;
  deviceSectors: number;
  /** What the member is to its set (memberState). */
  state: MemberState;
  /** Only on a stale member (RaidDevice.stale): true, and why. */
  stale?: true;
  staleReason?: string;
  /** Only on a member the user declared current (--include) that a handler calls stale: that verdict. */
  staleOverruled?: string;
  /** Only on a RAID device of a format that lost its disk to another (RaidDevice.supersededBy). */
  supersededBy?: { format: string; reason: string };
}

export interface RaidSetJson {
  name: string;
  type: string;
  status: string;
  sizeSectors: number;
  stride: number;
  format: string | null;
  active: boolean;
  devices: RaidDeviceJson[];
  spares: number;
  sets: RaidSetJson[];
  /** setHealth: ok, degraded (readable, not whole) or unusable; the counts and, when not ok, why. */
  health: Health;
  expectedDevices: number;
  foundDevices: number;
  healthReason?: string;
  /** Only when members were set aside as stale: they are not in `devices`. */
  staleDevices?: RaidDeviceJson[];
  /** A raid6 set's layout, as dm-raid names it, where the metadata says which. */
  raid6Layout?: Raid6Layout;
}

export interface BlockDeviceJson {
  path: string;
  serial: string | null;
  sectors: number;
  sectorSize: number;
}

export const raidDeviceToJson = (rd: RaidDevice): RaidDeviceJson => deviceJson(rd);

/** `set`: the set it is listed in, which its state depends on (memberState); -r lists disks without one. */
function deviceJson(rd: RaidDevice, set?: RaidSet): RaidDeviceJson {
  return {
    path: rd.device.path,
    serial: rd.device.serial ?? null,
    format: rd.format,
    set: rd.name,
    type: typeDisplay(rd.type),
    status: statusDisplay(rd.status),
    sectors: rd.sectors,
    offset: rd.offset,
    deviceSectors: rd.device.sizeSectors,
    state: memberState(rd, set),
    ...(rd.stale !== undefined ? { stale: true as const, staleReason: rd.stale } : {}),
    ...(rd.current?.overruled !== undefined ? { staleOverruled: rd.current.overruled } : {}),
    ...(rd.supersededBy !== undefined ? { supersededBy: { format: rd.supersededBy.format, reason: rd.supersededBy.reason } } : {}),
  };
}

export function raidSetToJson(set: RaidSet, format: string | null = null): RaidSetJson {
  const health = setHealth(set);
  return {
    name: set.name,
    type: setTypeDisplay(set),
    status: statusDisplay(set.status),
    sizeSectors: totalSectors(set),
    stride: set.stride,
    format: format ?? set.devs[0]?.format ?? null,
    active: set.active === true,
    devices: set.devs.map((rd) => deviceJson(rd, set)),
    spares: countDevs(set, 'spare'),
    sets: set.sets.map((s) => raidSetToJson(s, format)),
    health: health.health,
    expectedDevices: health.expected,
    foundDevices: health.found,
    ...(health.reason !== undefined ? { healthReason: health.reason } : {}),
    ...(set.stale?.length ? { staleDevices: set.stale.map(raidDeviceToJson) } : {}),
    ...(set.raid6Layout !== undefined ? { raid6Layout: set.raid6Layout } : {}),
  };
}

export function blockDeviceToJson(d: BlockDevice): BlockDeviceJson {
  return { path: d.path, serial: d.serial ?? null, sectors: d.sizeSectors, sectorSize: d.sectorSize };
}

/**
 * The JSON Schema (draft 2020-12) of the documents `dmraid --json` prints: packages/core/schema.json, the file
 * published as `@dmraid/core/schema.json`. Its root is a document; `$defs.monitorEvent` is one line of
 * `--monitor --json`.
 */
export const jsonSchema = documentSchema;

export const SCHEMA_ID = documentSchema.$id;

/**
 * The `schemaVersion` of every document and monitor line. Additions (a field, a command, an enum value) keep
 * it: the newest schema of a version accepts every older document of that version. A removal, a rename or a
 * change of type or meaning bumps it (docs/guide.md "JSON").
 */
export const SCHEMA_VERSION: number = documentSchema.properties.schemaVersion.const;
