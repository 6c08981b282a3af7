/**
 * Kernel activation through dmsetup: create the plan's devices in order (table on stdin, uuid
 * `DMRAID-<name>` as the reference binary sets it), remove what this run created when a step fails, and
 * remove sets in the reverse order, refusing devices that are open. The runner is injectable (tests).
 */
import { spawn } from 'node:child_process';
import type { ActivationPlan, DmDevice } from './plan.js';

export interface DmsetupResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `dmsetup ARGS` with `stdin`; never throws (a missing dmsetup is code 127). */
export type DmsetupRunner = (args: readonly string[], stdin?: string) => Promise<DmsetupResult>;

export function execDmsetup(binary = 'dmsetup'): DmsetupRunner {
  return (args, stdin) =>
    new Promise((resolve) => {
      let stdout = '';
      let stderr = '';
      const child = spawn(binary, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', (e) => resolve({ code: 127, stdout, stderr: stderr + e.message }));
      child.on('close', (code) => resolve({ code: code ?? 128, stdout, stderr }));
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin ?? '');
    });
}

/** One line of the run's outcome, in dmraid's words where dmraid has them. */
export interface ActivateReport {
  readonly level: 'print' | 'error';
  readonly text: string;
}

export class KernelActivator {
  constructor(private readonly dmsetup: DmsetupRunner = execDmsetup()) {}

  /** Names of the device-mapper devices present; undefined when dmsetup cannot list them. */
  async list(): Promise<Set<string> | undefined> {
    const r = await this.dmsetup(['ls']);
    if (r.code !== 0) return undefined;
    const names = new Set<string>();
    for (const line of r.stdout.split('\n')) {
      const m = /^(\S+)\s+\(/.exec(line);
      if (m) names.add(m[1]!);
    }
    return names;
  }

  /** Open count of a device; undefined when it does not exist. */
  async openCount(name: string): Promise<number | undefined> {
    const r = await this.dmsetup(['info', '-c', '--noheadings', '-o', 'open', name]);
    if (r.code !== 0) return undefined;
    const n = Number(r.stdout.trim());
    return Number.isFinite(n) ? n : undefined;
  }

  async create(d: DmDevice): Promise<DmsetupResult> {
    // The reference truncates partition uuids to `part<n>-DMRAID-`, so a second set's partition 1 is refused
    // as a duplicate; ours carry the set's name.
    const uuid = d.role === 'partition' ? `part${/(\d+)$/.exec(d.name)?.[1] ?? ''}-DMRAID-${d.set}` : `DMRAID-${d.name}`;
    return this.dmsetup(['create', d.name, '-u', uuid], `${d.table}\n`);
  }

  async remove(name: string): Promise<DmsetupResult> {
    return this.dmsetup(['remove', name]);
  }

  /**
   * Create the plan's devices in order. Devices already present are left as they are. When one fails,
   * everything this call created is removed again (reverse order), so the device-mapper is as before.
   */
  async activate(plan: ActivationPlan | { devices: readonly DmDevice[] }, present: ReadonlySet<string> = new Set()): Promise<{ ok: boolean; created: string[]; reports: ActivateReport[] }> {
    const created: string[] = [];
    const reports: ActivateReport[] = [];
    for (const d of plan.devices) {
      if (present.has(d.name)) continue;
      const existed = (await this.openCount(d.name)) !== undefined;
      const r = existed ? { code: 1, stdout: '', stderr: `device-mapper name "${d.name}" is already in use\n` } : await this.create(d);
      if (r.code !== 0) {
        for (const line of r.stderr.split('\n').filter(Boolean)) reports.push({ level: 'error', text: line.replace(/^ERROR: /, '') });
        if (d.role !== 'helper') reports.push({ level: 'print', text: `RAID set "${d.name}" was not activated` });
        // A failed create can leave an empty device behind.
        if (!existed && (await this.openCount(d.name)) !== undefined) await this.remove(d.name);
        const undone: string[] = [];
        for (const name of [...created].reverse()) if ((await this.remove(name)).code === 0) undone.push(name);
        if (undone.length > 0) reports.push({ level: 'error', text: `activation failed: removed ${undone.map((n) => `"${n}"`).join(', ')} again` });
        return { ok: false, created: [], reports };
      }
      created.push(d.name);
      if (d.role !== 'helper') reports.push({ level: 'print', text: `RAID set "${d.name}" was activated` });
    }
    return { ok: true, created, reports };
  }

  /** Remove devices in the order given (callers give partitions, then sets top-down, then helpers). */
  async deactivate(names: readonly string[]): Promise<{ ok: boolean; reports: ActivateReport[] }> {
    const reports: ActivateReport[] = [];
    for (const name of names) {
      const open = await this.openCount(name);
      if (open === undefined) continue;
      if (open > 0) {
        reports.push({ level: 'error', text: `RAID set "${name}" is in use (open count ${open}): not deactivated` });
        return { ok: false, reports };
      }
      const r = await this.remove(name);
      if (r.code !== 0) {
        for (const line of r.stderr.split('\n').filter(Boolean)) reports.push({ level: 'error', text: line.replace(/^ERROR: /, '') });
        return { ok: false, reports };
      }
    }
    return { ok: true, reports };
  }
}
