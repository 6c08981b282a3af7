/**
 * The testbed: dmraid's testbed idea with image files. A set folder testbed/<format>/<config>/ holds each
 * member's metadata as `dmraid -rD` writes it (<dev>.dat, <dev>.offset, <dev>.size; several areas as
 * <dev>_<k>.dat/.offset), a set.json naming the members in device order (with serials), and
 * expected/<command>.txt recorded from the reference dmraid.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { CommandResult } from './reference.js';

export interface TestbedMember {
  /** Device basename: sda, sdb, ... */
  readonly name: string;
  readonly serial?: string;
}

export interface TestbedSetInfo {
  readonly description: string;
  readonly members: readonly TestbedMember[];
}

export interface TestbedSet extends TestbedSetInfo {
  readonly format: string;
  readonly config: string;
  readonly dir: string;
}

/** The commands whose outputs every set records and compares. */
export const COMPARED_COMMANDS: readonly (readonly string[])[] = [
  ['-r'],
  ['-s'],
  ['-s', '-c', '-c', '-c'],
  ['-r', '-c', '-c', '-c'],
  ['-n'],
  ['-b'],
];

export const commandSlug = (args: readonly string[]) => args.map((a) => a.replace(/^-+/, '')).join('_') || 'none';

export async function listTestbedSets(root: string, format?: string): Promise<TestbedSet[]> {
  const sets: TestbedSet[] = [];
  const formats = format ? [format] : (await fs.readdir(root).catch(() => [] as string[])).sort();
  for (const f of formats) {
    const configs = (await fs.readdir(join(root, f)).catch(() => [] as string[])).sort();
    for (const config of configs) {
      const dir = join(root, f, config);
      const info = JSON.parse(await fs.readFile(join(dir, 'set.json'), 'utf8').catch(() => 'null')) as TestbedSetInfo | null;
      if (info) sets.push({ ...info, format: f, config, dir });
    }
  }
  return sets;
}

/** Image specs (`sda.img:SERIAL`, relative to `outDir`) after building sparse member images there. */
export async function buildTestbedImages(set: TestbedSet, outDir: string): Promise<string[]> {
  await fs.mkdir(outDir, { recursive: true });
  const files = await fs.readdir(set.dir);
  const specs: string[] = [];
  for (const m of set.members) {
    const size = Number((await fs.readFile(join(set.dir, `${m.name}.size`), 'utf8')).trim());
    const image = join(outDir, `${m.name}.img`);
    const handle = await fs.open(image, 'w');
    try {
      await handle.truncate(size * 512);
      const dats = files.filter((f) => f.endsWith('.dat') && (f === `${m.name}.dat` || f.startsWith(`${m.name}_`)));
      for (const dat of dats.sort()) {
        const stem = dat.slice(0, -'.dat'.length);
        const offset = Number((await fs.readFile(join(set.dir, `${stem}.offset`), 'utf8')).trim());
        const data = await fs.readFile(join(set.dir, dat));
        await handle.write(data, 0, data.length, offset);
      }
    } finally {
      await handle.close();
    }
    specs.push(m.serial ? `${m.name}.img:${m.serial}` : `${m.name}.img`);
  }
  return specs;
}

/** Write member dumps for a set (the generator's side). */
export async function writeTestbedSet(
  dir: string,
  info: TestbedSetInfo,
  members: readonly { name: string; sizeSectors: number; areas: readonly { offsetBytes: number; data: Uint8Array }[] }[],
): Promise<void> {
  // Member dumps are rewritten; expected/ (recordings and deliberate deviations) is kept.
  await fs.mkdir(dir, { recursive: true });
  for (const f of await fs.readdir(dir)) if (f !== 'expected') await fs.rm(join(dir, f), { recursive: true, force: true });
  await fs.writeFile(join(dir, 'set.json'), `${JSON.stringify(info, null, 2)}\n`);
  for (const m of members) {
    await fs.writeFile(join(dir, `${m.name}.size`), `${m.sizeSectors}\n`);
    for (const [k, a] of m.areas.entries()) {
      const stem = m.areas.length === 1 ? m.name : `${m.name}_${k}`;
      await fs.writeFile(join(dir, `${stem}.dat`), a.data);
      await fs.writeFile(join(dir, `${stem}.offset`), `${a.offsetBytes}\n`);
    }
  }
}

export function formatExpected(args: readonly string[], r: CommandResult): string {
  return `$ dmraid ${args.join(' ')}\nexit ${r.status}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

export function parseExpected(text: string): { args: string[]; result: CommandResult } {
  const m = /^\$ dmraid (.*)\nexit (\d+)\n--- stdout\n([\s\S]*?)--- stderr\n([\s\S]*)$/.exec(text);
  if (!m) throw new Error('malformed expected file');
  return { args: m[1]!.split(' '), result: { status: Number(m[2]), stdout: m[3]!, stderr: m[4]! } };
}

export const expectedPath = (set: TestbedSet, args: readonly string[]) => join(set.dir, 'expected', `${commandSlug(args)}.txt`);

/**
 * Where the reference is wrong and we are right on purpose, `expected/<command>.ours.txt` holds our output;
 * the reference's own recording stays beside it, and docs/deviations.md names the difference.
 */
export const deviationPath = (set: TestbedSet, args: readonly string[]) => join(set.dir, 'expected', `${commandSlug(args)}.ours.txt`);

export async function readDeviation(set: TestbedSet, args: readonly string[]): Promise<CommandResult | undefined> {
  try {
    return parseExpected(await fs.readFile(deviationPath(set, args), 'latin1')).result;
  } catch {
    return undefined;
  }
}

export async function writeDeviation(set: TestbedSet, args: readonly string[], r: CommandResult): Promise<void> {
  await fs.mkdir(join(set.dir, 'expected'), { recursive: true });
  await fs.writeFile(deviationPath(set, args), formatExpected(args, r), 'latin1');
}

export async function readExpected(set: TestbedSet, args: readonly string[]): Promise<CommandResult | undefined> {
  try {
    return parseExpected(await fs.readFile(expectedPath(set, args), 'latin1')).result;
  } catch {
    return undefined;
  }
}

export async function writeExpected(set: TestbedSet, args: readonly string[], r: CommandResult): Promise<void> {
  await fs.mkdir(join(set.dir, 'expected'), { recursive: true });
  await fs.writeFile(expectedPath(set, args), formatExpected(args, r), 'latin1');
}
