/** Test helpers: the handler's `failed` on image files, and an image's MPB read straight from its end. */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { isIoError, openDevice, type WritableDevice, type WriteContext } from '@dmraid/core';
import { setsOfImages } from '@dmraid/testkit';
import isw, { decodeMpb, toMemoryOrder, type Mpb } from '../src/index.js';

/**
 * `failed` of `failedFile` among `specs` (`FILE:SERIAL` in `dir`), as the monitor calls it: the top-level
 * set as read before the failure, a write context over the image files.
 */
export async function failOnImages(dir: string, specs: readonly string[], failedFile: string): Promise<{ ok: boolean; errors: string[] }> {
  const { sets } = await setsOfImages(isw, dir, specs);
  const set = sets[0]!;
  const opened = new Map<string, WritableDevice>();
  const errors: string[] = [];
  const serialOf = (path: string) => specs.find((s) => join(dir, s.split(':')[0]!) === path)?.split(':')[1];
  const ctx: WriteContext = {
    format: 'isw',
    log: () => undefined,
    error: (text) => errors.push(text),
    async openWritable(path) {
      if (!opened.has(path)) {
        const dev = await openDevice(path, { writable: true, serial: serialOf(path) });
        if (isIoError(dev)) return undefined;
        opened.set(path, dev);
      }
      return opened.get(path);
    },
  };
  const failed = await openDevice(join(dir, failedFile), { serial: serialOf(join(dir, failedFile)) });
  if (isIoError(failed)) throw new Error(failed.message);
  try {
    return { ok: await isw.failed!(set, failed, ctx), errors };
  } finally {
    await failed.close();
    for (const d of opened.values()) await d.close();
  }
}

/** The MPB at the end of an image of 512-byte sectors: header block at N-2, extension blocks before it. */
export async function mpbOfImage(path: string): Promise<Mpb> {
  const bytes = await fs.readFile(path);
  const header = decodeMpb(toMemoryOrder(bytes.subarray(bytes.length - 1024, bytes.length - 512), 512));
  const blocks = Math.max(1, Math.ceil(header.header.mpb_size / 512));
  return decodeMpb(toMemoryOrder(bytes.subarray(bytes.length - 512 * (1 + blocks), bytes.length - 512), 512));
}
