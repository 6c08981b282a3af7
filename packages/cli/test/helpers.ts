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
