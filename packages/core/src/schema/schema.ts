/**
 * JSON output of the model (`--json`) and its JSON Schema. The schema is the contract for scripts; tests
 * validate every JSON document the CLI prints against it.
 */
import { countDevs, RAID6_LAYOUTS, setTypeDisplay, statusDisplay, totalSectors, typeDisplay, type Raid6Layout, type RaidDevice, type RaidSet } from '../model/raid.js';
import type { BlockDevice } from '../device/device.js';
import { memberState, setHealth, type Health, type MemberState } from '../model/health.js';

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

const typeNames = ['unknown', 'GROUP', 'partition', 'spare', 'linear', 'stripe', 'mirror', 'raid4', 'raid5_ls', 'raid5_rs', 'raid5_la', 'raid5_ra', 'raid6', 'raid10', 'raid30', 'raid40', 'raid50', 'raid60', 'raid01', 'raid03', 'raid04', 'raid05', 'raid06'];
const statusNames = ['unknown', 'broken', 'inconsistent', 'nosync', 'ok', 'setup'];

export const SCHEMA_ID = 'https://dmraid.invalid/schema/v1.json';

/** JSON Schema (draft-07) of the documents `dmraid --json` prints. */
export const jsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: SCHEMA_ID,
  title: 'dmraid JSON output',
  definitions: {
    raidDevice: {
      type: 'object',
      additionalProperties: false,
      required: ['path', 'serial', 'format', 'set', 'type', 'status', 'sectors', 'offset', 'deviceSectors', 'state'],
      properties: {
        path: { type: 'string', minLength: 1 },
        serial: { type: ['string', 'null'] },
        format: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' },
        set: { type: 'string' },
        type: { enum: typeNames },
        status: { enum: statusNames },
        sectors: { type: 'integer', minimum: 0 },
        offset: { type: 'integer', minimum: 0 },
        deviceSectors: { type: 'integer', minimum: 0 },
        state: { enum: ['active', 'rebuilding', 'failed', 'spare', 'stale', 'superseded'] },
        stale: { const: true },
        staleReason: { type: 'string', minLength: 1 },
        staleOverruled: { type: 'string', minLength: 1 },
        supersededBy: {
          type: 'object',
          additionalProperties: false,
          required: ['format', 'reason'],
          properties: { format: { type: 'string', minLength: 1 }, reason: { type: 'string', minLength: 1 } },
        },
      },
    },
    raidSet: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'type', 'status', 'sizeSectors', 'stride', 'format', 'active', 'devices', 'spares', 'sets', 'health', 'expectedDevices', 'foundDevices'],
      properties: {
        name: { type: 'string', minLength: 1 },
        type: { enum: typeNames },
        status: { enum: statusNames },
        sizeSectors: { type: 'integer', minimum: 0 },
        stride: { type: 'integer', minimum: 0 },
        format: { type: ['string', 'null'] },
        active: { type: 'boolean' },
        devices: { type: 'array', items: { $ref: '#/definitions/raidDevice' } },
        spares: { type: 'integer', minimum: 0 },
        sets: { type: 'array', items: { $ref: '#/definitions/raidSet' } },
        health: { enum: ['ok', 'degraded', 'unusable'] },
        expectedDevices: { type: 'integer', minimum: 0 },
        foundDevices: { type: 'integer', minimum: 0 },
        healthReason: { type: 'string', minLength: 1 },
        staleDevices: { type: 'array', items: { $ref: '#/definitions/raidDevice' } },
        raid6Layout: { enum: [...RAID6_LAYOUTS] },
      },
    },
    blockDevice: {
      type: 'object',
      additionalProperties: false,
      required: ['path', 'serial', 'sectors', 'sectorSize'],
      properties: {
        path: { type: 'string', minLength: 1 },
        serial: { type: ['string', 'null'] },
        sectors: { type: 'integer', minimum: 0 },
        sectorSize: { type: 'integer', minimum: 1 },
      },
    },
    checkRange: {
      type: 'object',
      additionalProperties: false,
      required: ['device', 'kind', 'start', 'length'],
      properties: {
        device: { type: 'string', minLength: 1 },
        kind: { enum: ['mirror', 'parity'] },
        start: { type: 'integer', minimum: 0 },
        length: { type: 'integer', minimum: 1 },
      },
    },
    message: {
      type: 'object',
      additionalProperties: false,
      required: ['level', 'text'],
      properties: { level: { enum: ['fatal', 'error', 'warning', 'print', 'info', 'notice', 'warn', 'debug'] }, text: { type: 'string' } },
    },
  },
  type: 'object',
  additionalProperties: false,
  required: ['command', 'messages'],
  properties: {
    command: { enum: ['raid_devices', 'sets', 'block_devices', 'formats', 'extract', 'check_data', 'serve', 'infer', 'restore'] },
    raidDevices: { type: 'array', items: { $ref: '#/definitions/raidDevice' } },
    sets: { type: 'array', items: { $ref: '#/definitions/raidSet' } },
    // -s: the RAID devices of formats that lost their disk to another's metadata (never in a set).
    supersededDevices: { type: 'array', items: { $ref: '#/definitions/raidDevice' } },
    blockDevices: { type: 'array', items: { $ref: '#/definitions/blockDevice' } },
    formats: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'description', 'levels'],
        properties: { name: { type: 'string' }, description: { type: 'string' }, levels: { type: 'array', items: { type: 'string' } }, package: { type: 'string' }, version: { type: 'string' } },
      },
    },
    // Ours, the userspace engine's commands: what each did (absent when it failed: the messages say why).
    extract: {
      type: 'object',
      additionalProperties: false,
      required: ['set', 'output', 'sectors', 'holeSectors', 'startedAt', 'complete'],
      properties: {
        set: { type: 'string', minLength: 1 },
        output: { type: 'string', minLength: 1 },
        sectors: { type: 'integer', minimum: 0 },
        holeSectors: { type: 'integer', minimum: 0 },
        startedAt: { type: 'integer', minimum: 0 },
        complete: { type: 'boolean' },
        state: { type: 'string' },
        // Volume sectors no member could give (--rescue-map, read errors), written as zeros.
        lost: {
          type: 'array',
          items: { type: 'object', additionalProperties: false, required: ['start', 'count'], properties: { start: { type: 'integer', minimum: 0 }, count: { type: 'integer', minimum: 1 } } },
        },
        // Which partitions (MBR/GPT on the volume) the lost sectors fall in; partition null: outside every one.
        lostByPartition: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['partition', 'start', 'sectors', 'lost'],
            properties: {
              partition: { type: ['integer', 'null'] },
              start: { type: 'integer', minimum: 0 },
              sectors: { type: 'integer', minimum: 0 },
              lost: { type: 'integer', minimum: 1 },
            },
          },
        },
      },
    },
    check: {
      type: 'object',
      additionalProperties: false,
      required: ['set', 'mismatches', 'checked', 'sectors', 'ranges'],
      properties: {
        set: { type: 'string', minLength: 1 },
        mismatches: { type: 'integer', minimum: 0 },
        // RAID6: Q's mismatching sectors (P's are `mismatches`).
        syndromeMismatches: { type: 'integer', minimum: 0 },
        checked: { type: 'array', items: { type: 'string' } },
        sectors: { type: 'integer', minimum: 0 },
        ranges: { type: 'array', items: { $ref: '#/definitions/checkRange' } },
        // Units not checked: a member sector there could not be read (--rescue-map, read errors).
        unreadable: { type: 'array', items: { $ref: '#/definitions/checkRange' } },
      },
    },
    exports: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'uri', 'bytes', 'writable'],
        properties: { name: { type: 'string', minLength: 1 }, uri: { type: 'string', minLength: 1 }, bytes: { type: 'integer', minimum: 0 }, writable: { type: 'boolean' } },
      },
    },
    // Ours, --infer: the geometries found from the members' content, best first.
    candidates: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['type', 'members', 'chunkSectors', 'dataOffsetSectors', 'sizeSectors', 'confidence', 'score', 'basis', 'tables'],
        properties: {
          type: { type: 'string', minLength: 1 },
          // In layout order; null for the member a RAID5 is inferred without.
          members: { type: 'array', items: { type: ['string', 'null'] } },
          chunkSectors: { type: ['integer', 'null'], minimum: 1 },
          dataOffsetSectors: { type: 'integer', minimum: 0 },
          sizeSectors: { type: 'integer', minimum: 0 },
          confidence: { type: 'number', minimum: 0, maximum: 1 },
          score: { type: 'number' },
          basis: { enum: ['mirror-equal', 'parity', 'continuity'] },
          tables: { type: ['string', 'null'] },
        },
      },
    },
    // Ours, --restore: what was (or would have been) put back, and where the bytes it replaced are kept.
    restore: {
      type: 'object',
      additionalProperties: false,
      required: ['dir', 'backup', 'devices', 'status'],
      properties: {
        dir: { type: 'string', minLength: 1 },
        backup: { type: ['string', 'null'] },
        status: { enum: ['restored', 'failed', 'refused'] },
        devices: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['format', 'path', 'writes'],
            properties: {
              format: { type: 'string' },
              path: { type: 'string', minLength: 1 },
              writes: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['file', 'offset', 'size'],
                  properties: { file: { type: 'string' }, offset: { type: 'integer', minimum: 0 }, size: { type: 'integer', minimum: 0 } },
                },
              },
            },
          },
        },
      },
    },
    messages: { type: 'array', items: { $ref: '#/definitions/message' } },
  },
} as const;
