/**
 * Output formatting, one function per mode, byte-compatible with dmraid 1.0.0.rc16 (lib/display/display.c).
 * Every function returns lines; the caller writes them.
 */
import {
  countDevs,
  setFormat,
  setSectors,
  setTypeDisplay,
  statusDisplay,
  typeDisplay,
  type BlockDevice,
  type DescribedHandler,
  type FormatHandler,
  type HandlerFacts,
  type LoadedHandler,
  type RaidDevice,
  type RaidSet,
} from '@dmraid/core';
import { beyondDmraidHelp, type Options } from './options.js';

export interface ColumnOptions {
  readonly columns: number;
  readonly columnFields: string | undefined;
  readonly separator: string;
}

interface Field {
  readonly name: string;
  readonly minLength: number;
  readonly value: () => string | number | bigint;
}

/** dmraid's log_fields: fields matched by prefix with a minimum length; no match prints *ERR*. */
function fieldLine(fields: readonly Field[], wanted: string, separator: string): string {
  return wanted
    .split(separator)
    .map((w) => {
      const hit = fields.find((f) => w.length >= f.minLength && w.length <= f.name.length && f.name.startsWith(w));
      return hit ? String(hit.value()) : '*ERR*';
    })
    .join(separator);
}

export function blockDeviceLine(d: BlockDevice, o: ColumnOptions): string {
  const serial = d.serial ?? 'N/A';
  if (o.columnFields !== undefined) {
    return fieldLine(
      [
        { name: 'devpath', minLength: 1, value: () => d.path },
        { name: 'path', minLength: 1, value: () => d.path },
        { name: 'sectors', minLength: 3, value: () => d.sizeSectors },
        { name: 'serialnumber', minLength: 3, value: () => serial },
        { name: 'size', minLength: 2, value: () => d.sizeSectors },
      ],
      o.columnFields,
      o.separator,
    );
  }
  if (o.columns === 0) return `${d.path}: ${String(d.sizeSectors).padStart(12)} total, "${serial}"`;
  if (o.columns === 1) return d.path;
  return `${d.path}:${d.sizeSectors}:"${serial}"`;
}

export function raidDeviceLine(rd: RaidDevice, o: ColumnOptions): string {
  const type = typeDisplay(rd.type);
  // A RAID device of a format that lost its disk to another's metadata: the winner in the status column.
  const status = rd.supersededBy ? `superseded by ${rd.supersededBy.format}` : statusDisplay(rd.status);
  if (o.columnFields !== undefined) {
    return fieldLine(
      [
        { name: 'dataoffset', minLength: 2, value: () => rd.offset },
        { name: 'devpath', minLength: 2, value: () => rd.device.path },
        { name: 'format', minLength: 1, value: () => rd.format },
        { name: 'offset', minLength: 1, value: () => rd.offset },
        { name: 'path', minLength: 1, value: () => rd.device.path },
        { name: 'raidname', minLength: 1, value: () => rd.name },
        { name: 'type', minLength: 1, value: () => type },
        { name: 'sectors', minLength: 2, value: () => rd.sectors },
        { name: 'size', minLength: 2, value: () => rd.sectors },
        { name: 'status', minLength: 2, value: () => status },
      ],
      o.columnFields,
      o.separator,
    );
  }
  if (o.columns === 0) {
    return `${rd.device.path}: ${rd.format}, "${rd.name}", ${type}, ${status}, ${rd.sectors} sectors, data@ ${rd.offset}`;
  }
  if (o.columns === 1) return rd.device.path;
  return `${rd.device.path}:${rd.format}:${rd.name}:${type}:${status}:${rd.sectors}:${rd.offset}`;
}

export interface SetDisplayOptions extends ColumnOptions {
  /** -s count: subsets shown from 2 on. */
  readonly sets: number;
  readonly group: boolean;
  readonly active: 'active' | 'inactive' | undefined;
}

const isActive = (set: RaidSet): boolean => (set.type === 'group' ? set.sets.some((s) => s.active === true) : set.active === true);

function setBody(set: RaidSet, o: SetDisplayOptions): string[] {
  if (set.type === 'group' && !o.group) return [];
  const sectors = setSectors(set);
  const subsets = set.sets.length;
  const devs = countDevs(set, 'dev');
  const spares = countDevs(set, 'spare');
  const type = setTypeDisplay(set);
  const status = statusDisplay(set.status);
  const lines: string[] = [];
  if (o.columnFields !== undefined) {
    lines.push(
      fieldLine(
        [
          { name: 'devices', minLength: 1, value: () => devs },
          { name: 'format', minLength: 1, value: () => setFormat(set) ?? 'unknown' },
          { name: 'raidname', minLength: 1, value: () => set.name },
          { name: 'sectors', minLength: 2, value: () => sectors },
          { name: 'size', minLength: 2, value: () => sectors },
          { name: 'spares', minLength: 2, value: () => spares },
          { name: 'status', minLength: 3, value: () => status },
          { name: 'stride', minLength: 3, value: () => set.stride },
          { name: 'subsets', minLength: 2, value: () => subsets },
          { name: 'type', minLength: 1, value: () => type },
        ],
        o.columnFields,
        o.separator,
      ),
    );
  } else if (o.columns === 0) {
    lines.push(
      `name   : ${set.name}`,
      `size   : ${sectors}`,
      `stride : ${set.stride}`,
      `type   : ${type}`,
      `status : ${status}`,
      `subsets: ${subsets}`,
      `devs   : ${devs}`,
      `spares : ${spares}`,
    );
  } else if (o.columns === 1) lines.push(set.name);
  else lines.push(`${set.name}:${sectors}:${set.stride}:${type}:${status}:${subsets}:${devs}:${spares}`);
  if (o.columns > 2) for (const rd of set.devs) lines.push(raidDeviceLine(rd, o));
  return lines;
}

/** `-s`: one set and (for groups, -s -s and -c -c -c) its subsets. `depth` 0 is the top level. */
export function setLines(set: RaidSet, o: SetDisplayOptions, depth = 0): string[] {
  const active = isActive(set);
  if ((o.active === 'active' && !active) || (o.active === 'inactive' && active)) return [];
  const lines: string[] = [];
  if (o.columns === 0) {
    if (set.type === 'group' && !o.group) lines.push(`*** Group superset ${set.name}`);
    else {
      const kind = set.sets.length > 0 ? 'Supers' : depth ? 'Subs' : 'S';
      const inconsistent = set.status === 'inconsistent' ? '*Inconsistent* ' : '';
      lines.push(`${depth ? '-->' : '***'} ${inconsistent}${set.active ? 'Active ' : ''}${kind}et`);
    }
  }
  lines.push(...setBody(set, o));
  if (set.type === 'group' || o.sets > 1 || o.columns > 2) {
    for (const sub of set.sets) lines.push(...setLines(sub, o, depth + 1));
  }
  return lines;
}

/** `-l`: `%-7s : <description> (<levels>)` per handler. */
export function formatLine(h: HandlerFacts): string {
  return `${h.name.padEnd(7)} : ${h.description}${h.levels ? ` (${h.levels})` : ''}`;
}

/** -l with --json: the handlers and their packages. */
export function formatsJson(loaded: readonly DescribedHandler[]) {
  return loaded.map((l) => ({
    name: l.handler.name,
    description: l.handler.description,
    levels: l.handler.levels ? l.handler.levels.split(',') : [],
    package: l.packageName,
    version: l.version,
  }));
}

/** dmraid's format_error: no RAID disks or sets, with the -f formats and the names asked for. */
export function formatError(o: Pick<Options, 'formatText' | 'operands' | 'separator'>, what: 'disks' | 'sets'): string {
  let text = `no raid ${what}`;
  if (o.formatText !== undefined) text += ` with format: "${o.formatText}"`;
  if (o.operands.length > 0) text += ` and with names: "${o.operands.join(o.separator)}"`;
  return text;
}

/** The dmraid release whose behaviour and output this one follows (-V). */
export const DMRAID_RELEASE = '1.0.0.rc16 (2009.09.16)';

export const VERSION_LINES = (dmVersion = 'unknown') => [
  `dmraid version:\t\t${DMRAID_RELEASE} shared `,
  `dmraid library version:\t${DMRAID_RELEASE}`,
  `device-mapper version:\t${dmVersion}`,
];

/** -h: the reference's help, byte for byte (its stray blanks included), then the lines of our options. */
export const helpText = (): string => `${DMRAID_HELP}Beyond dmraid:\n${beyondDmraidHelp()}`;

const DMRAID_HELP = `dmraid: Device-Mapper Software RAID tool

* = [-d|--debug]... [-v|--verbose]... [-i|--ignorelocking]

dmraid\t{-a|--activate} {y|n|yes|no} *
\t[-f|--format FORMAT[,FORMAT...]]
\t[-P|--partchar CHAR]
\t[-p|--no_partitions]
\t[--separator SEPARATOR]
\t[-t|--test]
\t[-Z|--rm_partitions] [RAID-set...]

dmraid\t{-b|--block_devices} *
\t[-c|--display_columns][FIELD[,FIELD...]]...
\t[device-path...]

dmraid\t{-h|--help}

dmraid\t{-l|--list_formats} *

dmraid\t{-n|--native_log} *
\t[-f|--format FORMAT[,FORMAT...]]
\t[--separator SEPARATOR]
\t[device-path...]

dmraid\t{-r|--raid_devices} *
\t[-c|--display_columns][FIELD[,FIELD...]]...
\t[-D|--dump_metadata]
\t[-f|--format FORMAT[,FORMAT...]]
\t[--separator SEPARATOR]
\t[device-path...]

dmraid\t{-r|--raid_devices} *
\t{-E|--erase_metadata}
\t[-f|--format FORMAT[,FORMAT...]]
\t[--separator SEPARATOR]
\t[device-path...]

dmraid\t{-s|--sets}...[a|i|active|inactive] *
\t[-c|--display_columns][FIELD[,FIELD...]]...
\t[-f|--format FORMAT[,FORMAT...]]
\t[-g|--display_group]
\t[--separator SEPARATOR]
\t[RAID-set...]

dmraid\t{-f|--format FORMAT}
 \t{-C|--create RAID-set} 
\t{--type RAID-level}
\t[--size [0-9]...[kKgG][bB]]
\t[--str[i[de]] [0-9]...[kK][bB]]
\t{--disk[s] "device-path[, device-path..."}

dmraid\t{-x|--remove RAID-set} 

dmraid\t{-R|--rebuild} RAID-set [drive_name]

dmraid\t[{-f|--format FORMAT}]
\t{-S|--spare [RAID-set]} 
\t{-M|--media "device-path"}

dmraid\t{-V/--version}

`;
