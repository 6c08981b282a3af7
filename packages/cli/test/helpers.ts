import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { buildTestbedImages, listTestbedSets, testbedDir, testDir } from '@dmraid/testkit';

/**
 * A fresh folder, removed when the test that made it ends (pass or fail): the write tests copy member
 * images of hundreds of MiB, which piled up in /tmp until the disk was full.
 */
export function tmp(label: string): string {
  return testDir(`cli-${label}`);
}

/** Member images of testbed sets, side by side in one folder (device names renumbered). */
export async function imagesOf(dir: string, ...which: string[]): Promise<string[]> {
  const specs: string[] = [];
  for (const w of which) {
    const [format, config] = w.split('/');
    const set = (await listTestbedSets(testbedDir, format)).find((s) => s.config === config);
    if (!set) throw new Error(`no testbed set ${w}`);
    const sub = join(dir, `${format}-${config}`);
    for (const spec of await buildTestbedImages(set, sub)) specs.push(`${format}-${config}/${spec}`);
  }
  return specs;
}

export async function hashTree(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string) => {
    for (const e of (await fs.readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) h.update(p).update(await fs.readFile(p));
    }
  };
  await walk(dir);
  return h.digest('hex');
}
