/**
 * Our model of a set of member images, and the members of a `raid` table line: what tests of member
 * positions compare (the order by RaidDevice.position against the reference's tables and listings).
 */
import { join } from 'node:path';
import { buildSets, isIoError, openDevice, readContext, type FormatHandler, type RaidDevice, type RaidSet } from '@dmraid/core';

/** A `raid` target line of `-t` output: its device name, the ten words before the members, and the members' data devices ('-' when missing). */
export function raidTargetLine(stdout: string): { name: string; head: string[]; members: string[] } | undefined {
  const m = /^(.*): (0 \d+ raid \S+ .*)$/m.exec(stdout);
  if (!m) return undefined;
  const words = m[2]!.split(' ');
  const count = Number(words[9]);
  const pairs = words.slice(10);
  if (pairs.length !== 2 * count) throw new Error(`raid line with ${count} members and ${pairs.length} member words: ${m[0]}`);
  return { name: m[1]!, head: words.slice(0, 10), members: pairs.filter((_, i) => i % 2 === 1) };
}

/** The images `specs` (`FILE[:SERIAL]` in `dir`) read by one handler: its RAID devices, and each one's image name. */
export async function readImages(handler: FormatHandler, dir: string, specs: readonly string[]): Promise<{ rds: RaidDevice[]; image: (rd: RaidDevice) => string }> {
  const rds: RaidDevice[] = [];
  const byDevice = new Map<unknown, string>();
  for (const spec of specs) {
    const [file, serial] = spec.split(':');
    const device = await openDevice(join(dir, file!), { serial });
    if (isIoError(device)) throw new Error(`${file}: ${device.message}`);
    byDevice.set(device, file!);
    try {
      rds.push(...(await handler.read(device, readContext(handler.name, () => undefined))));
    } finally {
      await device.close();
    }
  }
  return { rds, image: (rd) => byDevice.get(rd.device)! };
}

/** The same, grouped into sets as discovery groups them. */
export async function setsOfImages(handler: FormatHandler, dir: string, specs: readonly string[]): Promise<{ sets: RaidSet[]; image: (rd: RaidDevice) => string }> {
  const { rds, image } = await readImages(handler, dir, specs);
  return { sets: buildSets(rds, { handlers: [handler], log: () => undefined }), image };
}
