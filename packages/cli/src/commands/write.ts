/**
 * The metadata-writing commands: -C (create), -S (hot spare), -R (rebuild), -x (delete), with dmraid's
 * argument parsing, messages and prompts (2009 tools/commands.c, lib/metadata/metadata.c). The handler
 * builds and writes the metadata through the write context given here, which keeps a backup of every
 * range before it is replaced and reads every write back. Names no vendor.
 */
import { join } from 'node:path';
import {
  allDevices,
  findSet,
  isIoError,
  nullLog,
  readContext,
  setFormat,
  type BlockDevice,
  type FormatHandler,
  type IoError,
  type RaidDevice,
  type RaidSet,
  type WritableDevice,
  type WriteContext,
} from '@dmraid/core';
import { claimRefusal, deviceClaims, type DeviceClaims } from '../claim.js';
import type { CommandContext } from '../main.js';
import { backupRange, confirm } from '../metadata-io.js';

/** A prompt as dmraid's yes_no_prompt words it; core's WriteContext has none yet, so handlers look for it. */
export interface PromptingWriteContext extends WriteContext {
  confirm(question: string): Promise<boolean>;
}

interface Written {
  readonly device: WritableDevice;
  readonly offsetBytes: number;
  readonly data: Uint8Array;
}

/** Failure of a check before anything is written: dmraid's LOG_ERR, exit 1. */
class Refused extends Error {}

export default async function command(ctx: CommandContext): Promise<number> {
  const devices = await ctx.openDevices(true);
  if (!devices) return 1;
  const claims = deviceClaims(ctx.io.cwd);
  try {
    switch (ctx.o.mode) {
      case 'create':
        return await create(ctx, devices, claims);
      case 'spare':
        return await spare(ctx, devices, claims);
      case 'rebuild':
        return await rebuild(ctx, devices, claims);
      default:
        return await remove(ctx, devices, claims);
    }
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    ctx.out.log('error', e.message);
    return 1;
  } finally {
    await claims.release();
    await Promise.all(devices.map((d) => d.close()));
  }
}

/**
 * The devices a command writes, claimed before its first prompt and its first byte (a handler that opens
 * another one later has it claimed then): refused while another process writes one, or a block device is
 * in use.
 */
async function claim(claims: DeviceClaims, paths: readonly string[]): Promise<void> {
  const taken = await claims.take(paths);
  if (isIoError(taken)) throw new Refused(claimRefusal(taken));
}

/** The disks of a set (a group's, a volume's): every one the handler may rewrite. */
const memberPaths = (set: RaidSet) => allDevices(set).map((rd) => rd.device.path);

// ---- the write context: backups, prompts, read-back ----

function writeContext(ctx: CommandContext, handler: FormatHandler, devices: readonly BlockDevice[], claims: DeviceClaims, journal: Written[], yes: boolean): PromptingWriteContext {
  const { out, io } = ctx;
  const stamp = new Date().toISOString().replace(/[-:]/g, '');
  const backupDir = join(io.cwd, `dmraid.${handler.name}`, `backup-${stamp}`);
  const wrapped = new Map<string, WritableDevice>();
  const backedUp = new Set<string>();
  const wrap = (device: WritableDevice): WritableDevice => ({
    ...device,
    path: device.path,
    serial: device.serial,
    sizeSectors: device.sizeSectors,
    sectorSize: device.sectorSize,
    isBlockDevice: device.isBlockDevice,
    read: (offset, length) => device.read(offset, length),
    sync: () => device.sync(),
    close: async () => undefined,
    async write(offsetBytes: number, data: Uint8Array): Promise<true | IoError> {
      const old = await device.read(offsetBytes, data.length);
      if (isIoError(old)) return old;
      // The first backup of a range holds what was there before the command: later writes keep it.
      const key = `${device.path}\0${offsetBytes}`;
      const problem = backedUp.has(key) ? undefined : await backupRange(backupDir, device.path, offsetBytes, old);
      backedUp.add(key);
      if (problem !== undefined) {
        out.log('error', `${handler.name}: keeping a backup of ${device.path} in ${backupDir}: ${problem}`);
        return { kind: 'io', path: device.path, code: 'EIO', message: 'no backup, nothing written' };
      }
      const result = await device.write(offsetBytes, data);
      if (result === true) journal.push({ device, offsetBytes, data: new Uint8Array(data) });
      return result;
    },
  });
  return {
    format: handler.name,
    log: out.log,
    error: (text) => out.log('error', `${handler.name}: ${text}`),
    async openWritable(path) {
      const device = devices.find((d) => d.path === path) as WritableDevice | undefined;
      if (!device || typeof device.write !== 'function') {
        out.log('error', `${handler.name}: cannot open device "${path}" for writing`);
        return undefined;
      }
      const taken = claims.holds(path) || (await claims.take([path]));
      if (isIoError(taken)) {
        out.log('error', `${handler.name}: ${claimRefusal(taken)}`);
        return undefined;
      }
      if (!wrapped.has(path)) wrapped.set(path, wrap(device));
      return wrapped.get(path);
    },
    async confirm(question) {
      return yes || confirm(io, question);
    },
  };
}

/** Every write read back byte for byte, and each rewritten device still read by its handler. */
async function verify(ctx: CommandContext, handler: FormatHandler, journal: readonly Written[]): Promise<boolean> {
  let ok = true;
  const touched = new Map<string, { device: WritableDevice; erased: boolean }>();
  for (const w of journal) {
    const erased = w.data.every((b) => b === 0);
    const seen = touched.get(w.device.path);
    touched.set(w.device.path, { device: w.device, erased: (seen?.erased ?? true) && erased });
  }
  for (const { device } of touched.values()) {
    if (isIoError(await device.sync())) ok = false;
  }
  for (const w of journal) {
    const back = await w.device.read(w.offsetBytes, w.data.length);
    if (isIoError(back) || back.some((b, i) => b !== w.data[i])) {
      ctx.out.log('error', `${handler.name}: metadata on ${w.device.path} at byte ${w.offsetBytes} reads back different from what was written`);
      ok = false;
    }
  }
  for (const { device, erased } of touched.values()) {
    if (erased) continue;
    const rds = await handler.read(device, readContext(handler.name, nullLog, ctx.o.handlerOptions.get(handler.name)));
    if (rds.length === 0) {
      ctx.out.log('error', `${handler.name}: the metadata written to ${device.path} does not read back`);
      ok = false;
    }
  }
  return ok;
}

async function perform(
  ctx: CommandContext,
  handler: FormatHandler,
  devices: readonly BlockDevice[],
  claims: DeviceClaims,
  yes: boolean,
  action: (w: PromptingWriteContext) => Promise<boolean>,
): Promise<number> {
  const journal: Written[] = [];
  const w = writeContext(ctx, handler, devices, claims, journal, yes || ctx.o.yes);
  let ok: boolean;
  try {
    ok = await action(w);
  } catch (e) {
    ctx.out.log('error', `${handler.name}: ${(e as Error)?.message ?? String(e)}`);
    ok = false;
  }
  if (journal.length > 0 && !(await verify(ctx, handler, journal))) ok = false;
  return ok ? 0 : 1;
}

const byName = (ctx: CommandContext, name: string | undefined) => ctx.handlers.find((h) => h.name === name);

// ---- -C NAME --type L [--size S] [--strip S] --disk "D1 D2" ----

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

function formatHandler(ctx: CommandContext): FormatHandler {
  const text = ctx.o.formatText;
  if (text === undefined) {
    ctx.out.log('error', 'format handler string is NULL');
    throw new Refused('unknown format type: (null)');
  }
  const handler = byName(ctx, text);
  if (!handler) throw new Refused(`unknown format type: ${text}`);
  return handler;
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
  const request = { name, level: args.level, sizeSectors: sectorsOf(args.size) || undefined, stripSectors: sectorsOf(args.strip) || undefined, devices: disks };
  await claim(claims, disks.map((d) => d.path));
  return perform(ctx, handler, devices, claims, args.yes, (w) => createFn.call(handler, request, w));
}

// ---- -S [SET] -M DEVICE ----

async function spare(ctx: CommandContext, devices: BlockDevice[], claims: DeviceClaims): Promise<number> {
  const setName = ctx.o.spareSet ?? ctx.o.operands.find((a) => !a.startsWith('-'));
  const path = ctx.o.media;
  let set: RaidSet | undefined;
  let handler: FormatHandler | undefined;
  if (setName !== undefined) {
    const { sets } = await ctx.discover(devices, { name: setName });
    set = findSet(sets, setName, true);
    if (!set) throw new Refused(`no RAID set found with name "${setName}"`);
    handler = byName(ctx, setFormat(set));
  }
  handler ??= formatHandler(ctx);
  if (!path) throw new Refused('no hard drives specified');
  const device = devices.find((d) => d.path === path);
  if (!device) throw new Refused(`failed to find disk ${path}`);
  const spareFn = handler.spare;
  if (!spareFn) throw new Refused(`hot-spare is not supported in "${handler.name}" format`);
  await claim(claims, [device.path, ...(set ? memberPaths(set) : [])]);
  return perform(ctx, handler, devices, claims, false, (w) => spareFn.call(handler, device, set, w));
}

// ---- -R SET [DEVICE] ----

async function rebuild(ctx: CommandContext, devices: BlockDevice[], claims: DeviceClaims): Promise<number> {
  const setName = ctx.o.rebuildSet!;
  const path = ctx.o.operands[0] ?? ctx.o.media;
  const { sets, raidDevices } = await ctx.discover(devices, { name: setName });
  const set = findSet(sets, setName, true);
  if (!set) throw new Refused(`no RAID set found with name "${setName}"`);
  const handler = byName(ctx, setFormat(set));
  const rebuildFn = handler?.rebuild;
  if (!handler || !rebuildFn) throw new Refused(`rebuild is not supported in "${handler?.name ?? setFormat(set)}" format`);
  let device: BlockDevice | undefined;
  if (path !== undefined) {
    device = devices.find((d) => d.path === path);
    if (!device) throw new Refused(`failed to find disk ${path}`);
    // The reference writes the metadata onto any disk, leaving a member whose data runs past its end.
    const needs = memberNeeds(set, raidDevices, device.path);
    if (needs !== undefined && device.sizeSectors < needs) {
      throw new Refused(`device "${device.path}" is too small to rebuild RAID set "${set.name}" onto: it has ${device.sizeSectors} sectors, a member needs ${needs} (its data and metadata)`);
    }
  }
  await claim(claims, [...memberPaths(set), ...(device ? [device.path] : [])]);
  return perform(ctx, handler, devices, claims, false, (w) => rebuildFn.call(handler, set, device, w));
}

/**
 * The sectors a member of `set` takes on its disk, measured on the members present (undefined when there is
 * none): the end of the data of every volume the disk holds (a rebuild rewrites them all), and the metadata
 * the format keeps behind it up to the disk's end. A group's per-disk device spans the disk: not data.
 */
function memberNeeds(set: RaidSet, raidDevices: readonly RaidDevice[], target: string): number | undefined {
  const format = setFormat(set);
  let needs: number | undefined;
  for (const path of new Set(memberPaths(set))) {
    if (path === target) continue;
    const onDisk = raidDevices.filter((rd) => rd.device.path === path && rd.format === format);
    const data = onDisk.filter((rd) => rd.type !== 'group' && rd.type !== 'spare');
    if (data.length === 0) continue;
    const dataEnd = Math.max(...data.map((rd) => rd.offset + rd.sectors));
    const behind = onDisk.flatMap((rd) => rd.areas.map((a) => a.offsetSectors)).filter((at) => at >= dataEnd);
    const metadata = behind.length > 0 ? onDisk[0]!.device.sizeSectors - Math.min(...behind) : 0;
    needs = Math.max(needs ?? 0, dataEnd + metadata);
  }
  return needs;
}

// ---- -x [SET] ----

async function remove(ctx: CommandContext, devices: BlockDevice[], claims: DeviceClaims): Promise<number> {
  const name = ctx.o.operands[0];
  const { sets } = await ctx.discover(devices, { name });
  if (sets.length === 0) throw new Refused('Cannot find a RAID set to delete');
  await claim(claims, sets.flatMap(memberPaths));
  let status = 0;
  for (const set of sets) {
    const handler = byName(ctx, setFormat(set));
    if (!handler) throw new Refused('Failed to locate the raid device');
    const lines = ['', ...(set.type === 'group' && set.sets.length > 1
      ? [`About to delete the raid super-set "${set.name}" with the following RAID sets`, ...set.sets.map((s) => s.name)]
      : [`About to delete RAID set ${set.type === 'group' ? set.sets[0]?.name ?? set.name : set.name}`]),
      '', 'WARNING: The metadata stored on the raidset(s) will not be accessible after deletion'];
    for (const l of lines) ctx.out.line(l);
    if (!ctx.o.yes && !(await confirm(ctx.io, 'Do you want to continue ? [y/n] :'))) return 0;
    const removeFn = handler.remove;
    if (!removeFn) throw new Refused(`Raid set deletion is not supported in "${handler.name}" format`);
    status ||= await perform(ctx, handler, devices, claims, true, (w) => removeFn.call(handler, set, w));
  }
  return status;
}
