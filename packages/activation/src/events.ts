/**
 * Following a device's events as dmeventd does: `dmsetup wait NAME <event_nr>` sleeps in the kernel
 * (DM_DEV_WAIT) until the device's event counter moves past the number given. dm-raid1 raises an event
 * when a leg fails and when a resync ends, dm-raid on md_error and on sync completion; the status read after
 * the event says what happened. The counter is read BEFORE the status: an event between the two makes the
 * next wait return at once instead of being lost.
 */
import type { KernelActivator } from './kernel.js';
import { health, parseStatus, type Health, type TargetStatus } from './status.js';

export interface Snapshot {
  readonly name: string;
  /** The event counter read before `targets`. */
  readonly events: number;
  readonly targets: readonly TargetStatus[];
  readonly health: Health;
  /** What woke us: the first look, a kernel event, or the progress poll of a running resync. */
  readonly reason: 'start' | 'event' | 'poll';
}

/** The device's counter, then its status; undefined when the device is gone. */
export async function snapshot(kernel: KernelActivator, name: string, reason: Snapshot['reason'] = 'start'): Promise<Snapshot | undefined> {
  const info = (await kernel.info(name))?.find((i) => i.name === name);
  if (!info) return undefined;
  const text = await kernel.status(name);
  if (text === undefined) return undefined;
  const targets = parseStatus(text);
  return { name, events: info.events, targets, health: health(targets), reason };
}

export interface WatchOptions {
  readonly signal?: AbortSignal;
  /** While a resync runs, look at the status this often as well (progress only); default 5 s. */
  readonly progressEveryMs?: number;
}

/**
 * Call `onChange` with the device's first snapshot and after each event (and each progress poll while it
 * resyncs, or after `onChange` answered 'poll'), one at a time: the wait is re-armed after `onChange` settles, with the counter read before that
 * snapshot, so what happened meanwhile is seen next. Ends 'stopped' on the signal, 'gone' when the device
 * went away.
 */
export async function watchDevice(kernel: KernelActivator, name: string, onChange: (s: Snapshot) => Promise<void | 'poll'>, options: WatchOptions = {}): Promise<'stopped' | 'gone'> {
  const { signal } = options;
  let reason: Snapshot['reason'] = 'start';
  for (;;) {
    if (signal?.aborted) return 'stopped';
    const s = await snapshot(kernel, name, reason);
    if (!s) return 'gone';
    // 'poll': the caller changed the device (a reload that starts a resync) and wants to see it progress.
    const asked = await onChange(s);
    if (signal?.aborted) return 'stopped';
    const poll = s.health.syncing || asked === 'poll';
    const stopWait = new AbortController();
    const onStop = () => stopWait.abort();
    signal?.addEventListener('abort', onStop, { once: true });
    let polled = false;
    const timer = poll
      ? setTimeout(() => {
          polled = true;
          stopWait.abort();
        }, options.progressEveryMs ?? 5000)
      : undefined;
    const r = await kernel.wait(name, s.events, stopWait.signal);
    clearTimeout(timer);
    signal?.removeEventListener('abort', onStop);
    if (signal?.aborted) return 'stopped';
    if (r === 'gone') return 'gone';
    reason = r === 'stopped' && polled ? 'poll' : 'event';
  }
}
