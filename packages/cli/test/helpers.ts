import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { discoverSets, isIoError, openDevice, type BlockDevice, type FormatHandler } from '@dmraid/core';
import { planActivation } from '@dmraid/activation';
import { isRunError, openRun } from '@dmraid/engine';
import { blankImage, buildTestbedImages, listTestbedSets, runOurs, specFile, testbedDir, testDir } from '@dmraid/testkit';

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

/** A 24 MiB ext4 volume with text files. */
export async function ext4Volume(dir: string): Promise<Buffer> {
  const src = join(dir, 'files');
  await fs.mkdir(src);
  for (let f = 0; f < 60; f++) {
    const lines = Array.from({ length: 1500 + f * 37 }, (_, l) => `${f}.${l}: ${['log', 'entry', 'disk', 'ok', 'sync', 'retry'][(l * 7 + f) % 6]} ${(l * 2654435761) % 99991}`);
    await fs.writeFile(join(src, `doc${f}.txt`), lines.join('\n'));
  }
  const img = join(dir, 'vol.img');
  await fs.writeFile(img, Buffer.alloc(24 << 20));
  await promisify(execFile)('mkfs.ext4', ['-q', '-F', '-d', src, img]);
  const vol = await fs.readFile(img);
  await fs.rm(img);
  return vol;
}

/** The disk at `index` dies; a blank one of its size, with another serial, takes its place. */
export async function replaceDisk(dir: string, specs: readonly string[], index: number): Promise<{ specs: string[]; lost: Buffer }> {
  const path = join(dir, specFile(specs[index]!));
  const lost = await fs.readFile(path);
  await blankImage(path, lost.length / 512);
  return { specs: specs.map((s, i) => (i === index ? `${specFile(s)}:REPLACED${index}` : s)), lost };
}

/** The volume of set `name` extracted to `out` (in `dir`), and its bytes. */
export async function extractVolume(dir: string, specs: readonly string[], name: string, out: string): Promise<Buffer> {
  const r = await runOurs(specs, ['--extract', name, '-o', out], { cwd: dir });
  expect(r.status, r.stderr).toBe(0);
  return fs.readFile(join(dir, out));
}

/** nvidia set names and device paths masked, lines sorted: what is left is the shape the reader sees. */
export const nvidiaShape = (text: string) =>
  text
    .replace(/nvidia_[a-z]+/g, 'nvidia_ID')
    .replace(/\S+\.img/g, 'DEV')
    .split('\n')
    .sort()
    .join('\n');

/**
 * `bytes` written from the start of set `name`'s volume through the engine, as the kernel would write them: the
 * members (`file:serial` specs in `dir`) read with `handler` alone.
 */
export async function writeVolume(dir: string, specs: readonly string[], handler: FormatHandler, name: string, bytes: Uint8Array): Promise<void> {
  const devices: BlockDevice[] = [];
  try {
    for (const s of specs) {
      const d = await openDevice(join(dir, specFile(s)), { serial: s.split(':')[1] });
      if (isIoError(d)) throw new Error(d.message);
      devices.push(d);
    }
    const { sets } = await discoverSets({ devices, handlers: [handler], log: () => undefined });
    const { plan, problems } = planActivation(sets, { partitions: false });
    expect(problems).toEqual([]);
    const run = await openRun({ tables: plan.devices, members: [...new Set(plan.devices.flatMap((d) => d.members))], writable: true, cwd: dir });
    if (isRunError(run)) throw new Error(JSON.stringify(run));
    try {
      expect(await run.engine.get(name)!.write(0, bytes)).toBe(true);
    } finally {
      await run.close();
    }
  } finally {
    await Promise.all(devices.map((d) => d.close()));
  }
}
