/** Image files for the write tests: blank disks, and member data as a volume's writes would leave it. */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';

/** A zeroed image file of `sectors` sectors (sparse: nothing is written). */
export async function blankImage(path: string, sectors: number): Promise<void> {
  await fs.writeFile(path, '');
  await fs.truncate(path, sectors * 512);
}

/** `data` over the start of an image file; the rest stays as it was. */
export async function writeAtStart(path: string, data: Uint8Array): Promise<void> {
  const fd = await fs.open(path, 'r+');
  await fd.write(data, 0, data.length, 0);
  await fd.close();
}

/** The image file of a `file:serial` device spec. */
export const specFile = (spec: string) => spec.split(':')[0]!;

/**
 * The first `bytes` of each member as a volume's writes would leave them: one random block on every mirror
 * leg (level 1), else random members and their XOR on the last, so that parity holds in every row whatever
 * the rotation.
 */
export async function fillMembers(paths: readonly string[], level: string, bytes: number): Promise<void> {
  if (level === '1') {
    const data = randomBytes(bytes);
    for (const p of paths) await writeAtStart(p, data);
    return;
  }
  const parity = Buffer.alloc(bytes);
  for (const [i, p] of paths.entries()) {
    const last = i === paths.length - 1;
    const data = last ? parity : randomBytes(bytes);
    if (!last) for (let b = 0; b < bytes; b++) parity[b]! ^= data[b]!;
    await writeAtStart(p, data);
  }
}
