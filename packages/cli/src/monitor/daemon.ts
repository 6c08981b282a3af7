/**
 * The monitor's loop: discover the sets as -s does, watch the device-mapper device of every active volume
 * (activation's watchDevice: `dmsetup wait` on the event counter, then the status), and act on what the
 * status says, one action at a time:
 * - a dead member: record it through the handler's `failed` (backup, read-back), re-discover, reload the
 *   volume's tables in place (the dead leg dropped; held writes complete), then put in a spare if there is one;
 * - a spare: the handler's `rebuild`, re-plan, reload (the kernel resyncs onto it);
 * - a resync the kernel reports complete while the metadata still says rebuilding: the handler's `rebuilt`,
 *   re-plan, reload. Never before the kernel says the data is there.
 */
import { setFormat, type BlockDevice, type FormatHandler, type RaidSet } from '@dmraid/core';
import { isDead, liveShape, parseStatus, snapshot, watchDevice, type Snapshot, type TargetStatus } from '@dmraid/activation';
import { Output, type CommandContext } from '../context.js';
import { byName, perform, type PromptingWriteContext } from '../commands/write.js';
import { monitorClaims } from './claims.js';
import { findVolume, rebuilding, spareFor, volumesOf, wantsSpare, type Volume } from './model.js';
import { isSetDevice, ownDevices, planNames, reloadVolume, stepFailure } from './reload-set.js';
import type { Reporter } from './report.js';
import type { MonitorSystem } from './system.js';

export interface DaemonOptions {
  readonly once: boolean;
  readonly signal: AbortSignal;
  /** While a resync runs, its progress is looked at this often (default 5 s). */
  readonly progressEveryMs?: number;
  /** How often the disks are scanned again for sets activated later (default 30 s). */
  readonly rescanMs?: number;
  /** Fires a rescan now (SIGHUP). */
  readonly rescan?: EventTarget;
}

export class Monitor {
  private devices: BlockDevice[] = [];
  private sets: RaidSet[] = [];
  private readonly numbers = new Map<string, string>();
  /** `<top-level set>\0<member path>`: failures recorded already. */
  private readonly handled = new Set<string>();
  /**
   * Disks the kernel stopped using. They stay out of every later discovery: a dead disk's blocks can still come
   * from the page cache, and in a format without a generation (nvidia) its old block reads as current once the
   * rebuild has cleared the survivors' degraded mark — its unit is then claimed twice.
   */
  private readonly dead = new Set<string>();
  private readonly watchers = new Map<string, Promise<void>>();
  private readonly percent = new Map<string, number>();
  private readonly said = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  /** The context the handlers write through: its messages are plain `ERROR:` lines even under --json. */
  private readonly writer: CommandContext;

  constructor(
    private readonly ctx: CommandContext,
    private readonly system: MonitorSystem,
    private readonly report: Reporter,
    private readonly options: DaemonOptions,
  ) {
    // Under --json standard output carries the event lines only: the handlers' own lines go to stderr.
    const io = ctx.o.json ? { ...ctx.io, stdout: ctx.io.stderr } : ctx.io;
    this.writer = { ...ctx, io, out: new Output(io, { ...ctx.o, json: false }, 'monitor') };
  }

  async run(): Promise<number> {
    try {
      if (!(await this.discover(true))) return 1;
      const active = await this.activeVolumes();
      if (active.length === 0) {
        const names = this.ctx.o.operands.length > 0 ? ` named ${this.ctx.o.operands.map((n) => `"${n}"`).join(', ')}` : '';
        this.report.emit({ event: 'no-active-set', message: `no RAID set${names} is active in the kernel${this.options.once ? '' : '; waiting for one (rescan every ' + Math.round((this.options.rescanMs ?? 30_000) / 1000) + ' s, or SIGHUP)'}` });
      }
      if (this.options.once) {
        for (const v of active) {
          const s = await snapshot(this.system.kernel, v.volume.name);
          if (s) await this.handle(v.volume.name, s);
        }
        await this.report.settled();
        return this.report.errors > 0 ? 1 : 0;
      }
      for (const v of active) this.watch(v.volume.name);
      await this.rescanLoop();
      await Promise.all([...this.watchers.values()]);
      await this.queue;
      await this.report.settled();
      return 0;
    } finally {
      await Promise.all(this.devices.map((d) => d.close()));
    }
  }

  /**
   * Every rescanMs a look at sysfs (no process, no disk read): only when a disk or a device-mapper device came
   * or went are the disks read again. SIGHUP reads them in any case.
   */
  private async rescanLoop(): Promise<void> {
    const { signal } = this.options;
    let seen = await this.system.inventory();
    while (!signal.aborted) {
      const asked = await new Promise<boolean>((resolve) => {
        const done = (hup: boolean) => () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', aborted);
          this.options.rescan?.removeEventListener('rescan', hangup);
          resolve(hup);
        };
        const aborted = done(false);
        const hangup = done(true);
        const timer = setTimeout(done(false), this.options.rescanMs ?? 30_000);
        signal.addEventListener('abort', aborted, { once: true });
        this.options.rescan?.addEventListener('rescan', hangup, { once: true });
      });
      if (signal.aborted) return;
      const now = await this.system.inventory();
      if (!asked && now === seen) continue;
      seen = now;
      await this.serial(async () => {
        // With --devices the handles stay (a dead disk may no longer open); a scan finds disks added since.
        await this.discover(this.ctx.o.devices === undefined);
        for (const v of await this.activeVolumes()) this.watch(v.volume.name);
      });
    }
  }

  /** Open the devices (again) and read the sets; false when nothing could be opened. */
  private async discover(reopen: boolean): Promise<boolean> {
    if (reopen || this.devices.length === 0) {
      const fresh = await this.ctx.openDevices(true);
      if (fresh) {
        const old = this.devices;
        this.devices = fresh;
        await Promise.all(old.map((d) => d.close()));
      } else if (this.devices.length === 0) return false;
    }
    this.sets = (await this.ctx.discover(this.devices.filter((d) => !this.dead.has(d.path)))).sets;
    for (const d of this.devices) {
      if (this.numbers.has(d.path)) continue;
      const n = await this.system.numberOf(d.path);
      if (n !== undefined) this.numbers.set(d.path, n);
    }
    return true;
  }

  private async activeVolumes(): Promise<Volume[]> {
    const names = new Set(((await this.system.kernel.info()) ?? []).filter(isSetDevice).map((i) => i.name));
    return volumesOf(this.sets, this.ctx.o.operands).filter((v) => names.has(v.volume.name));
  }

  private watch(name: string): void {
    if (this.watchers.has(name)) return;
    this.report.emit({ event: 'watching', set: name, message: 'watching its device-mapper events' });
    const w = watchDevice(this.system.kernel, name, (s) => this.serial(() => this.handle(name, s)), {
      signal: this.options.signal,
      progressEveryMs: this.options.progressEveryMs ?? 5000,
    }).then((end) => {
      this.watchers.delete(name);
      if (end === 'gone') this.report.emit({ event: 'gone', set: name, message: 'no longer active in the kernel: not watched' });
    });
    this.watchers.set(name, w);
  }

  /** `fn` under dmraid's lock (not with -i); `otherwise` when the lock cannot be had (said as an error). */
  private async locked<T, U>(set: string, otherwise: U, fn: () => Promise<T>): Promise<T | U> {
    if (this.ctx.o.ignoreLocking) return fn();
    const lock = await this.system.lock();
    if (typeof lock === 'string') {
      this.report.emit({ event: 'error', set, message: `${lock}: the metadata and tables are left as they are until the next event` });
      return otherwise;
    }
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  }

  /** One action at a time: watchers of several volumes share the disks and the model. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch((e) => this.report.emit({ event: 'error', message: `internal error: ${(e as Error)?.message ?? String(e)}` }));
    return next;
  }

  private async handle(name: string, s: Snapshot): Promise<void | 'poll'> {
    const v = findVolume(this.sets, name);
    if (!v) return;
    if (s.health.dead.length > 0) {
      const disks = await this.deadDisks(name, s);
      if (disks.length === 0) {
        this.once(`nodisk\0${name}\0${s.events}`, { event: 'error', set: name, message: `the kernel reports a dead member (${describe(s.targets)}), but no member disk of the set is found dead` });
        return;
      }
      // dm-raid without metadata devices (every BIOS RAID table: `- <dev>` pairs) runs md with external
      // metadata: after md_error its writes wait for a superblock update only userspace could acknowledge, and
      // which device-mapper offers no way to make, and a suspend deadlocks in md_stop_writes. A reload would
      // hang the monitor with the writers (seen in dm-vm, docs/monitor.md); the failure is recorded all the same.
      const stuck = s.targets.some((t) => t.type === 'raid' && t.members.some(isDead));
      let poll = false;
      for (const path of disks) if ((await this.memberFailed(v, path, !stuck)) === 'poll') poll = true;
      if (stuck) {
        this.once(`stuck\0${name}`, { event: 'error', set: name, format: setFormat(v.top), message: 'the kernel\'s dm-raid holds this set\'s writes after a member failure and cannot be suspended (no metadata devices): its table is not reloaded; after a reboot -ay maps it degraded and the monitor rebuilds it onto a spare' });
      }
      return poll ? 'poll' : undefined;
    }
    if (s.health.syncing) {
      if (!this.options.once && s.health.total) {
        const pct = Math.floor((100 * (s.health.inSync ?? 0)) / s.health.total);
        if (this.percent.get(name) !== pct) {
          this.percent.set(name, pct);
          this.report.emit({ event: 'resync-progress', set: name, format: setFormat(v.top), message: `resync ${pct}% (${s.health.inSync}/${s.health.total})`, done: s.health.inSync, total: s.health.total });
        }
      }
      return;
    }
    const behind = rebuilding(v.volume);
    if (behind && s.health.complete) return this.finishRebuild(v, behind.device as BlockDevice);
    if (wantsSpare(v.volume)) return this.addSpare(v);
  }

  /** A message said once (a condition that persists across events is not repeated at each). */
  private once(key: string, e: Parameters<Reporter['emit']>[0]) {
    if (this.said.has(key)) return;
    this.said.add(key);
    this.report.emit(e);
  }

  private handlerOf(top: RaidSet) {
    return byName(this.ctx, setFormat(top));
  }

  /**
   * The handler's `action` through write.ts's perform (backup, read-back), claiming the disks the set's own
   * device-mapper devices hold; true when it wrote.
   */
  private async write(v: Volume, action: (handler: FormatHandler, w: PromptingWriteContext) => Promise<boolean>): Promise<boolean> {
    const handler = this.handlerOf(v.top)!;
    const claims = monitorClaims(this.ctx.io.cwd, this.system, await ownDevices(v.top, (await this.system.kernel.info()) ?? []));
    return this.locked(v.volume.name, false, async () => (await perform(this.writer, handler, this.devices, claims, true, (w) => action(handler, w))) === 0);
  }

  /** After a metadata write: the disks read again and the volume's tables brought to what they now say. */
  private async rereadAndReload(v: Volume): Promise<boolean> {
    const previous = await planNames(v.volume);
    await this.discover(false);
    return this.reload(v.volume.name, previous);
  }

  private async memberFailed(v: Volume, path: string, reload = true): Promise<void | 'poll'> {
    const name = v.volume.name;
    const format = setFormat(v.top);
    const key = `${v.top.name}\0${path}`;
    this.dead.add(path);
    if (!this.handled.has(key)) {
      this.handled.add(key);
      this.report.emit({ event: 'failed', set: name, device: path, format, message: 'the kernel stopped using this member (I/O errors)' });
      const handler = this.handlerOf(v.top);
      const device = this.devices.find((d) => d.path === path)!;
      if (!handler?.failed) {
        this.report.emit({ event: 'not-recorded', set: name, device: path, format, message: `the ${format} format records no member state: its metadata still lists ${path} as a member` });
      } else if (await this.write(v, (h, w) => h.failed!.call(h, v.top, device, w))) {
        this.report.emit({ event: 'recorded', set: name, device: path, format, message: `the failure is recorded in the metadata of the members left (backup under dmraid.${format}/)` });
      } else {
        this.report.emit({ event: 'error', set: name, device: path, format, message: 'recording the failure in the metadata failed (the lines above say why)' });
      }
    }
    if (!reload) return;
    if (!(await this.rereadAndReload(v))) return;
    const now = findVolume(this.sets, name);
    if (now && wantsSpare(now.volume)) return this.addSpare(now);
  }

  private async addSpare(v: Volume): Promise<void | 'poll'> {
    const name = v.volume.name;
    const format = setFormat(v.top);
    const spare = spareFor(v.top, this.sets);
    if (!spare) {
      this.once(`nospare\0${name}`, { event: 'error', set: name, format, message: `the set is degraded and no spare of the ${format} format is present (add one with -S)` });
      return;
    }
    const handler = this.handlerOf(v.top);
    if (!handler?.rebuild) {
      this.once(`norebuild\0${name}`, { event: 'error', set: name, device: spare.path, format, message: `rebuild is not supported in "${format}" format: the spare is not put in` });
      return;
    }
    if (!(await this.write(v, (h, w) => h.rebuild!.call(h, v.top, spare, w)))) {
      this.once(`rebuildfail\0${name}\0${spare.path}`, { event: 'error', set: name, device: spare.path, format, message: 'starting the rebuild onto the spare failed (the lines above say why)' });
      return;
    }
    this.report.emit({ event: 'spare-added', set: name, device: spare.path, format, message: 'the metadata has the spare rebuilding: the table takes it and the kernel resyncs onto it' });
    return (await this.rereadAndReload(v)) ? 'poll' : undefined;
  }

  private async finishRebuild(v: Volume, device: BlockDevice): Promise<void> {
    const name = v.volume.name;
    const format = setFormat(v.top);
    const handler = this.handlerOf(v.top);
    // A handler without `rebuilt` leaves the end of a rebuild to the tool that reads its metadata.
    if (!handler?.rebuilt) return;
    if (!(await this.write(v, (h, w) => h.rebuilt!.call(h, v.top, device, w)))) {
      this.once(`rebuiltfail\0${name}\0${device.path}`, { event: 'error', set: name, device: device.path, format, message: 'writing the end of the rebuild failed (the lines above say why)' });
      return;
    }
    this.report.emit({ event: 'rebuilt', set: name, device: device.path, format, message: 'the kernel reports the member in sync: the metadata says so now' });
    await this.rereadAndReload(v);
  }

  /** Reload the volume as its metadata now reads; false when that failed (said). */
  private async reload(name: string, previous: readonly string[]): Promise<boolean> {
    const v = findVolume(this.sets, name);
    if (!v) {
      this.report.emit({ event: 'error', set: name, message: 'the set is no longer found on the disks: its table stays as it is' });
      return false;
    }
    const r = await this.locked(name, undefined, () => reloadVolume(this.system.kernel, v.volume, previous));
    if (!r) return false;
    for (const p of r.problems) this.report.emit({ event: 'error', set: name, message: `${p}: its table stays as it is` });
    let ok = r.problems.length === 0;
    for (const step of r.steps) {
      if (step.error !== undefined) {
        ok = false;
        this.report.emit({ event: 'error', set: name, message: stepFailure(step) });
      } else {
        const what = step.action === 'reloaded' ? 'table reloaded in place (suspend --noflush: held writes go to the new table)' : step.action === 'created' ? 'device created' : 'device removed';
        this.report.emit({ event: step.action, set: name, message: `${step.name}: ${what}` });
      }
    }
    return ok;
  }

  /** The member disks behind the dead members of the status (a dm leg: the dead disks under it). */
  private async deadDisks(name: string, s: Snapshot): Promise<string[]> {
    const out = new Set<string>();
    for (const t of s.targets) {
      for (const m of t.members.filter(isDead)) {
        const number = m.device ?? (await this.raidMember(name, t, m.index));
        if (number === undefined) continue;
        for (const leaf of await this.deadLeaves(number, 0)) {
          const path = [...this.numbers].find(([, n]) => n === leaf)?.[0];
          if (path !== undefined) out.add(path);
        }
      }
    }
    return [...out];
  }

  /** dm-raid's status names members by position: the data device of slot `index` in the live table. */
  private async raidMember(name: string, t: TargetStatus, index: number): Promise<string | undefined> {
    const line = (await this.system.kernel.table(name))?.split('\n').find((l) => l.trim().startsWith(`${t.start} ${t.length} raid `));
    const w = line?.trim().split(/\s+/) ?? [];
    // <start> <length> raid <type> <#params> <params...> <#devs> (<meta> <data>)...
    const params = Number(w[4]);
    const data = w[5 + params + 1 + 2 * index + 1];
    return data !== undefined && /^\d+:\d+$/.test(data) ? data : undefined;
  }

  private async deadLeaves(number: string, depth: number): Promise<string[]> {
    const dm = depth < 8 ? await this.system.dmName(number) : undefined;
    if (dm === undefined) return [number];
    const marked = parseStatus((await this.system.kernel.status(dm)) ?? '').flatMap((t) => t.members.filter(isDead).flatMap((m) => (m.device ? [m.device] : [])));
    const under = liveShape((await this.system.kernel.table(dm)) ?? '').flatMap((t) => t.devices);
    const candidates = marked.length > 0 ? marked : under;
    const leaves = (await Promise.all(candidates.map((c) => this.deadLeaves(c, depth + 1)))).flat();
    if (marked.length > 0 || candidates.length === 1) return leaves;
    const dead: string[] = [];
    for (const leaf of leaves) if (!(await this.system.reads(leaf))) dead.push(leaf);
    return dead;
  }
}

const describe = (targets: readonly TargetStatus[]) => targets.map((t) => `${t.type} ${t.members.map((m) => m.health).join('')}`).join(', ');
