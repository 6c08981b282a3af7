/**
 * `--monitor [SET...] [--once] [--json] [--program CMD]`: the event daemon dmraid never shipped (docs/monitor.md).
 * Foreground, for systemd's Type=simple; SIGTERM/SIGINT stop it (exit 0), SIGHUP rescans the disks.
 * `DMRAID_DMSETUP` names another dmsetup (tests), `DMRAID_MONITOR_RESCAN_SECONDS` the rescan interval
 * (default 30), `DMRAID_MONITOR_PROGRESS_SECONDS` how often a running resync's progress is read (default 5).
 */
import type { CommandContext } from '../context.js';
import { Monitor } from '../monitor/daemon.js';
import { reporter } from '../monitor/report.js';
import { realSystem } from '../monitor/system.js';
import { stopSignal } from './engine-run.js';

const seconds = (text: string | undefined, fallback: number) => {
  const n = Number(text);
  return text !== undefined && text !== '' && Number.isFinite(n) && n > 0 ? n * 1000 : fallback;
};

export default async function command(ctx: CommandContext): Promise<number> {
  const act = await import('@dmraid/activation');
  const kernel = new act.KernelActivator(act.execDmsetup(process.env.DMRAID_DMSETUP || 'dmsetup'));
  // Events are lines of their own: main's one --json document is not printed.
  ctx.out.emitted = true;
  const report = reporter(ctx.io, { json: ctx.o.json, program: ctx.o.monitor.program });
  const stop = stopSignal(ctx.signal);
  const rescan = new EventTarget();
  const hup = () => rescan.dispatchEvent(new Event('rescan'));
  process.on('SIGHUP', hup);
  try {
    return await new Monitor(ctx, realSystem(kernel, ctx.sysfs), report, {
      once: ctx.o.monitor.once,
      signal: stop.signal,
      rescan,
      rescanMs: seconds(process.env.DMRAID_MONITOR_RESCAN_SECONDS, 30_000),
      progressEveryMs: seconds(process.env.DMRAID_MONITOR_PROGRESS_SECONDS, 5000),
    }).run();
  } finally {
    process.off('SIGHUP', hup);
    stop.dispose();
  }
}
