/** Running a handler's create (-C) on in-memory disks, as the formats' create tests do. */
import { bufferLog, memoryDevice, nullLog, sparseDevice, type BlockDevice, type CreateRequest, type FormatHandler, type Log, type WriteContext } from '@dmraid/core';

/** A write context over test devices: opens them by path, collects error texts, and has no prompt (yes). */
export function deviceWriteContext(format: string, devices: readonly BlockDevice[], errors: string[], log: Log = nullLog): WriteContext {
  return { format, log, error: (t) => errors.push(t), openWritable: async (path) => devices.find((d) => d.path === path) as never };
}

/** `n` zeroed memory disks d0, d1, … of `sectors` sectors each, serials S-d0, S-d1, …. */
export const memoryDisks = (n: number, sectors = 65536) => Array.from({ length: n }, (_, i) => memoryDevice(`d${i}`, new Uint8Array(sectors * 512), `S-d${i}`));

export type SparseDisk = ReturnType<typeof sparseDevice>;

/**
 * The handler's create of a set named Vol0 over fresh sparse disks /dev/c0, /dev/c1, … (serials C0, C1, …)
 * of the given sizes in sectors: its answer, the errors, every logged line and the disks.
 */
export async function createOnSparse(handler: FormatHandler, level: string, sizes: readonly number[], extra: Partial<CreateRequest> = {}) {
  const devices: SparseDisk[] = sizes.map((s, i) => sparseDevice(`/dev/c${i}`, s, `C${i}`));
  const { log, lines } = bufferLog();
  const errors: string[] = [];
  const ok = await handler.create!({ name: 'Vol0', level, devices, ...extra }, deviceWriteContext(handler.name, devices, errors, log));
  return { ok, errors, lines, devices };
}
