/**
 * What the tests of a handler's `failed` share: a testbed set's member images, the sets the handler alone reads
 * from them, and a write context that notes what was opened and refuses the failed disk (a survivor's record
 * must never touch it).
 */
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { bufferLog, buildSets, isIoError, openDevice, readContext, type FormatHandler, type RaidDevice, type RaidSet, type WritableDevice, type WriteContext } from '@dmraid/core';
import { testbedDir } from './env.js';
import { buildTestbedImages, listTestbedSets } from './testbed.js';
import { testDir } from './tester.js';

export function failedHarness(handler: FormatHandler) {
  const name = handler.name;
  /** A device opened for writing, closed when the test ends. */
  async function open(path: string): Promise<WritableDevice> {
    const dev = await openDevice(path, { writable: true });
    if (isIoError(dev)) throw new Error(dev.message);
    onTestFinished(() => dev.close());
    return dev;
  }
  return {
    open,
    /** The member images of testbed set `config` of this format, in a fresh folder. */
    async testbed(config: string) {
      const set = (await listTestbedSets(testbedDir, name)).find((s) => s.config === config)!;
      const dir = testDir(`${name}-failed-${config}`);
      const images = (await buildTestbedImages(set, dir)).map((s) => s.split(':')[0]!);
      return { dir, images, paths: images.map((i) => join(dir, i)) };
    },
    async readSets(paths: readonly string[]): Promise<RaidSet[]> {
      const rds: RaidDevice[] = [];
      for (const p of paths) rds.push(...(await handler.read(await open(p), readContext(name, () => undefined))));
      return buildSets(rds, { handlers: [handler], log: bufferLog().log });
    },
    writeContext(failedPath: string) {
      const errors: string[] = [];
      const opened: string[] = [];
      const ctx: WriteContext = {
        format: name,
        log: (level, text) => {
          if (level === 'error') errors.push(text);
        },
        error: (text) => errors.push(`${name}: ${text}`),
        openWritable: async (path) => {
          opened.push(path);
          if (path === failedPath) throw new Error('the failed disk was opened');
          return open(path);
        },
      };
      return { ctx, errors, opened };
    },
  };
}
