/**
 * What the metadata-writing commands share: -C (create.ts), -S (spare.ts), -R (rebuild.ts), -x (remove.ts)
 * run with dmraid's argument parsing, messages and prompts (2009 tools/commands.c, lib/metadata/metadata.c).
 * The handler builds and writes the metadata through the write context given here, which keeps a backup of
 * every range before it is replaced and reads every write back. Names no vendor.
 */
import { join } from 'node:path';
import {
  allDevices,
  isIoError,
  nullLog,
  readContext,
  type BlockDevice,
  type FormatHandler,
  type IoError,
  type RaidSet,
  type WritableDevice,
  type WriteContext,
} from '@dmraid/core';
import { claimRefusal, deviceClaims, type DeviceClaims } from '../claim.js';
import { confirm, type CommandContext } from '../context.js';
import { backupRange } from '../metadata-io.js';

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
export class Refused extends Error {}

/** A writing command's run: every device opened for writing, claims released and devices closed after it. */
export async function writeCommand(
  ctx: CommandContext,
  run: (ctx: CommandContext, devices: BlockDevice[], claims: DeviceClaims) => Promise<number>,
): Promise<number> {
  const devices = await ctx.openDevices(true);
  if (!devices) return 1;
  const claims = deviceClaims(ctx.io.cwd);
  try {
    return await run(ctx, devices, claims);
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
export async function claim(claims: DeviceClaims, paths: readonly string[]): Promise<void> {
  const taken = await claims.take(paths);
  if (isIoError(taken)) throw new Refused(claimRefusal(taken));
}

/** The disks of a set (a group's, a volume's): every one the handler may rewrite. */
export const memberPaths = (set: RaidSet) => allDevices(set).map((rd) => rd.device.path);

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
      const problem = backedUp.has(key) ? undefined : await backupRange(backupDir, handler.name, device, io.cwd, offsetBytes, old);
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

export async function perform(
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

export const byName = (ctx: CommandContext, name: string | undefined) => ctx.handlers.find((h) => h.name === name);

/** The handler -f names (-C, and -S without a set). */
export function formatHandler(ctx: CommandContext): FormatHandler {
  const text = ctx.o.formatText;
  if (text === undefined) {
    ctx.out.log('error', 'format handler string is NULL');
    throw new Refused('unknown format type: (null)');
  }
  const handler = byName(ctx, text);
  if (!handler) throw new Refused(`unknown format type: ${text}`);
  return handler;
}
