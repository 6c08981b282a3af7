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

/**
 * Runs `dmsetup ARGS` with `stdin`; never throws (a missing dmsetup is code 127). `signal` ends a run that
 * waits (`dmsetup wait`): the child is killed and the result's code is not 0.
 */
export type DmsetupRunner = (args: readonly string[], stdin?: string, signal?: AbortSignal) => Promise<DmsetupResult>;

export function execDmsetup(binary = 'dmsetup'): DmsetupRunner {
  return (args, stdin, signal) =>
    new Promise((resolve) => {
      let stdout = '';
      let stderr = '';
      if (signal?.aborted) return resolve({ code: 130, stdout, stderr: 'stopped' });
      const child = spawn(binary, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      const stop = () => child.kill('SIGTERM');
      signal?.addEventListener('abort', stop, { once: true });
      child.on('close', () => signal?.removeEventListener('abort', stop));
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', (e) => resolve({ code: 127, stdout, stderr: stderr + e.message }));
      child.on('close', (code) => resolve({ code: code ?? 128, stdout, stderr }));
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin ?? '');
    });
}

const firstLine = (r: DmsetupResult) => r.stderr.split('\n').find((l) => l.trim())?.replace(/^ERROR: /, '').trim() ?? `dmsetup exited with ${r.code}`;

/** One line of the run's outcome, in dmraid's words where dmraid has them. */
export interface ActivateReport {
  readonly level: 'print' | 'error';
  readonly text: string;
}

/** `dmsetup info` of one device: what the monitor needs of it. */
export interface DmInfo {
  readonly name: string;
  readonly uuid: string;
  /** The device's event counter: `dmsetup wait NAME <events>` returns once it moves on. */
  readonly events: number;
  /** `major:minor`, as tables and statuses name devices. */
  readonly device: string;
  readonly open: number;
}

export class KernelActivator {
  constructor(private readonly dmsetup: DmsetupRunner = execDmsetup()) {}

  /**
   * `dmsetup info` of one device (`name` given) or of every device; undefined when dmsetup fails (no such
   * device). A name or uuid holding the separator cannot be told apart: such a line is left out.
   */
  async info(name?: string): Promise<DmInfo[] | undefined> {
    const r = await this.dmsetup(['info', '-c', '--noheadings', '--separator', '\t', '-o', 'name,uuid,events,major,minor,open', ...(name !== undefined ? [name] : [])]);
    if (r.code !== 0) return undefined;
    const out: DmInfo[] = [];
    for (const line of r.stdout.split('\n')) {
      const w = line.split('\t');
      if (w.length !== 6 || !w.slice(2).every((x) => /^\d+$/.test(x.trim()))) continue;
      out.push({ name: w[0]!, uuid: w[1]!, events: Number(w[2]), device: `${Number(w[3])}:${Number(w[4])}`, open: Number(w[5]) });
    }
    return out;
  }

  /** The live table (`dmsetup table NAME`), devices as `major:minor`; undefined when there is none. */
  async table(name: string): Promise<string | undefined> {
    const r = await this.dmsetup(['table', name]);
    return r.code === 0 ? r.stdout : undefined;
  }

  /** `dmsetup status NAME`'s text; undefined when the device is gone. */
  async status(name: string): Promise<string | undefined> {
    const r = await this.dmsetup(['status', name]);
    return r.code === 0 ? r.stdout : undefined;
  }

  /**
   * Sleep in the kernel (DM_DEV_WAIT, as dmeventd does: no CPU while idle) until the device's event counter
   * differs from `events`. Resolves 'event', 'stopped' (the signal) or 'gone' (the device went away or
   * dmsetup failed).
   */
  async wait(name: string, events: number, signal?: AbortSignal): Promise<'event' | 'stopped' | 'gone'> {
    const r = await this.dmsetup(['wait', name, String(events)], undefined, signal);
    if (signal?.aborted) return 'stopped';
    return r.code === 0 ? 'event' : 'gone';
  }

  /**
   * Swap a device's table: load it, suspend without flushing, resume. `--noflush`: a mirror's writes held
   * since a leg failed (handle_errors) are requeued to the new table and complete there, instead of
   * failing back to the writer as a flush would make them. Undefined when done, else what failed (the old
   * table stays live: an inactive table that was loaded is cleared again).
   */
  async reload(name: string, table: string): Promise<string | undefined> {
    const text = table.endsWith('\n') ? table : `${table}\n`;
    const loaded = await this.dmsetup(['reload', name], text);
    if (loaded.code !== 0) return `reloading "${name}": ${firstLine(loaded)}`;
    const suspended = await this.dmsetup(['suspend', '--noflush', name]);
    if (suspended.code !== 0) {
      await this.dmsetup(['clear', name]);
      return `suspending "${name}": ${firstLine(suspended)}`;
    }
    const resumed = await this.dmsetup(['resume', name]);
    if (resumed.code !== 0) return `resuming "${name}": ${firstLine(resumed)} (the device stays suspended)`;
    return undefined;
  }

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
