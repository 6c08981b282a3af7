/**
 * A live set brought to a new plan without taking it down: after a member failed (the table drops it) or a
 * spare joined (the table takes it), every device whose live table maps other devices than the plan's is
 * reloaded in place (load, suspend --noflush, resume), lower devices first; devices the plan adds (a spare's
 * offset helper) are created before the devices above them, devices it no longer has are removed after.
 */
import { promises as fs } from 'node:fs';
import { deviceNumberText, ZERO_PATH, type TableTarget } from '@dmraid/core';
import type { KernelActivator } from './kernel.js';
import type { DmDevice } from './plan.js';

/** `major:minor` of a block device path; undefined for a file or a path that does not exist. */
export type DeviceNumber = (path: string) => Promise<string | undefined>;

export const deviceNumber: DeviceNumber = async (path) => {
  const st = await fs.stat(path).catch(() => undefined);
  return st?.isBlockDevice() ? deviceNumberText(st.rdev) : undefined;
};

/**
 * What a table maps, for comparing ours with the kernel's: per target its place, type and devices. Other
 * words are left out on purpose: the kernel prints some of its own way (dm-raid orders its optional
 * arguments), and a `sync`/`nosync` or `rebuild` difference alone is no reason to swap a live table.
 */
interface Shape {
  readonly start: number;
  readonly length: number;
  readonly type: string;
  readonly devices: readonly string[];
}

async function plannedShape(targets: readonly TableTarget[], number: DeviceNumber): Promise<Shape[]> {
  const out: Shape[] = [];
  for (const t of targets) {
    const devices: string[] = [];
    for (const a of t.args) {
      if (typeof a === 'string') continue;
      const path = a.kind === 'mapped' ? `/dev/mapper/${a.name}` : a.kind === 'member' ? a.path : ZERO_PATH;
      devices.push((await number(path)) ?? path);
    }
    out.push({ start: t.start, length: t.length, type: t.type, devices });
  }
  return out;
}

/** The kernel's table text: devices are the words shaped `major:minor`. */
export function liveShape(text: string): Shape[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w.length >= 3 && /^\d+$/.test(w[0]!) && /^\d+$/.test(w[1]!))
    .map(([start, length, type, ...args]) => ({ start: Number(start), length: Number(length), type: type!, devices: args.filter((a) => /^\d+:\d+$/.test(a)) }));
}

const same = (a: readonly Shape[], b: readonly Shape[]) => JSON.stringify(a) === JSON.stringify(b);

/** One step taken, or failed (`error` set): the monitor logs each. */
export interface ReloadStep {
  readonly name: string;
  readonly action: 'reloaded' | 'created' | 'removed';
  readonly error?: string;
}

/**
 * Bring the live devices of a set to `devices` (the plan's, in creation order). `previous`: the names the
 * set had in the kernel before (its helpers), removed when the plan no longer has them. Stops at the first
 * failure; the steps say what was done.
 */
export async function reloadChanged(kernel: KernelActivator, devices: readonly DmDevice[], previous: readonly string[] = [], number: DeviceNumber = deviceNumber): Promise<ReloadStep[]> {
  const steps: ReloadStep[] = [];
  for (const d of devices) {
    const live = await kernel.table(d.name);
    if (live === undefined) {
      const r = await kernel.create(d);
      steps.push(r.code === 0 ? { name: d.name, action: 'created' } : { name: d.name, action: 'created', error: r.stderr.trim() || `dmsetup exited with ${r.code}` });
      if (r.code !== 0) return steps;
      continue;
    }
    if (same(liveShape(live), await plannedShape(d.targets, number))) continue;
    const error = await kernel.reload(d.name, d.table);
    steps.push(error === undefined ? { name: d.name, action: 'reloaded' } : { name: d.name, action: 'reloaded', error });
    if (error !== undefined) return steps;
  }
  const kept = new Set(devices.map((d) => d.name));
  for (const name of [...previous].reverse()) {
    if (kept.has(name) || (await kernel.table(name)) === undefined) continue;
    const r = await kernel.remove(name);
    steps.push(r.code === 0 ? { name, action: 'removed' } : { name, action: 'removed', error: r.stderr.trim() || `dmsetup exited with ${r.code}` });
  }
  return steps;
}
