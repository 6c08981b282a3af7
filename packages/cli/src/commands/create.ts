/** `-f FORMAT -C NAME --type L [--size S] [--strip S] --disk "D1 D2"`: a new set, through the handler's create. */
import { nullLog, readContext, takesSectorSize, type BlockDevice, type FormatHandler } from '@dmraid/core';
import type { DeviceClaims } from '../claim.js';
import type { CommandContext } from '../context.js';
import { claim, formatHandler, perform, Refused, writeCommand } from './write.js';

export default async function command(ctx: CommandContext): Promise<number> {
  return writeCommand(ctx, create);
}

interface CreateArgs {
  size: number;
  level: string | undefined;
  strip: number;
  disks: string | undefined;
  yes: boolean;
}

const CREATE_OPTIONS: Record<string, keyof CreateArgs> = {
  size: 'size', type: 'level', str: 'strip', stri: 'strip', strip: 'strip', strid: 'strip', disk: 'disks', disks: 'disks',
};

/** dmraid's check_size: a number, optionally followed by k/m/g and then b/B. */
function checkSize(text: string): boolean {
  return /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?([kKmMgG]?[bB]?)$/.test(text);
}

/** dmraid's get_raid_size: bytes; k/m/g multiply by 1024^n, B counts 512-byte blocks, b bytes. */
function sizeBytes(text: string): number {
  const number = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(text);
  const value = number ? Math.max(0, Number(number[0])) : 0;
  const rest = text.slice(number?.[0].length ?? 0);
  let mul = 1;
  const unit = /[kKmMgG]/.exec(rest)?.[0].toLowerCase();
  if (unit) mul = 1024 ** ('kmg'.indexOf(unit) + 1);
  if (/[bB]/.exec(rest)?.[0] === 'B') mul *= 512;
  return Math.floor(value * mul);
}

/** Bytes to sectors as dmraid rounds them (up). */
const sectorsOf = (bytes: number) => (bytes ? Math.floor((bytes - 1) / 512) + 1 : 0);

function parseCreateArgs(args: readonly string[]): CreateArgs {
  const out: CreateArgs = { size: 0, level: undefined, strip: 0, disks: undefined, yes: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (name === 'yes' && eq < 0) {
      out.yes = true;
      continue;
    }
    const matches = name in CREATE_OPTIONS ? [name] : Object.keys(CREATE_OPTIONS).filter((k) => k.startsWith(name));
    const keys = new Set(matches.map((m) => CREATE_OPTIONS[m]));
    if (!name || keys.size !== 1) throw new Refused('unknown option');
    const key = [...keys][0]!;
    const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined) throw new Refused('unknown option');
    if (key === 'size' || key === 'strip') {
      if (!checkSize(value)) throw new Refused(key === 'size' ? 'failed to config size' : 'failed to config stripe');
      if (!out[key]) out[key] = sizeBytes(value);
    } else if (key === 'level') out.level ??= value;
    else if (key === 'disks') out.disks ??= value;
  }
  return out;
}

/** dmraid's check_rsd name rules (only isw creates; the rules are the command's). */
function checkName(name: string): void {
  if (name.length > 15) throw new Refused(`name ${name} is longer than 15 chars`);
  if (name.length === 0) throw new Refused('no RAID set name provided');
  if (!/^[A-Za-z0-9]/.test(name)) throw new Refused('first character of a name must be an alphanumeric charater');
  if (!/^.[A-Za-z0-9_-]*$/.test(name)) throw new Refused(`name ${name} has non-alphanumeric characters`);
}

/** The --disk list: commas or spaces between paths; each must be a known device, once. */
function diskList(text: string | undefined, devices: readonly BlockDevice[]): BlockDevice[] {
  if (!text || !text.replace(/,/g, ' ').trim()) throw new Refused('no hard drives specified');
  const out: BlockDevice[] = [];
  for (const path of text.replace(/,/g, ' ').trim().split(/ +/)) {
    const d = devices.find((x) => x.path === path);
    if (!d) throw new Refused(`failed to find disk ${path}`);
    if (out.includes(d)) throw new Refused(`disk ${d.path} is duplicated on the disk list`);
    out.push(d);
  }
  return out;
}

/**
 * A disk carrying another format's metadata is refused: the new set's metadata would sit beside the old one,
 * and which of them a reader takes would depend on its format order. `-E` first.
 */
async function refuseForeign(ctx: CommandContext, handler: FormatHandler, disks: readonly BlockDevice[]): Promise<void> {
  for (const d of disks) {
    for (const other of ctx.handlers) {
      if (other === handler || !takesSectorSize(other, d.sectorSize)) continue;
      const found = await other.read(d, readContext(other.name, nullLog, ctx.o.handlerOptions.get(other.name)));
      if (found.length > 0) throw new Refused(`disk ${d.path} carries ${other.name} metadata; erase it first (dmraid -r -E -f ${other.name} ${d.path})`);
    }
  }
}

async function create(ctx: CommandContext, devices: BlockDevice[], claims: DeviceClaims): Promise<number> {
  const name = ctx.o.createName ?? '';
  if (!name) throw new Refused('failed to provide a valid RAID set name');
  if (ctx.o.operands.length < 3) throw new Refused('too few arguments');
  const args = parseCreateArgs(ctx.o.operands);
  const handler = formatHandler(ctx);
  if (!args.level || !/^\d{1,16}$/.test(args.level)) throw new Refused('failed to provide a valid RAID type');
  checkName(name);
  const disks = diskList(args.disks, devices);
  const createFn = handler.create;
  if (!createFn) throw new Refused(`metadata creation isn't supported in "${handler.name}" format`);
  await refuseForeign(ctx, handler, disks);
  const request = { name, level: args.level, sizeSectors: sectorsOf(args.size) || undefined, stripSectors: sectorsOf(args.strip) || undefined, devices: disks };
  await claim(claims, disks.map((d) => d.path));
  return perform(ctx, handler, devices, claims, args.yes, (w) => createFn.call(handler, request, w));
}
