/**
 * `-s [SET]`: the RAID sets, grouped and checked, or the one named. With `-t` (ours) the same output, and the
 * sets' health as the exit status, `mdadm --detail --test`'s: 0 ok, 1 degraded, 2 unusable, 4 an error.
 */
import { buildSets, raidDeviceToJson, raidSetToJson, setFormat, setHealth, setsNamed, unassembledMembers, worseHealth, type Health, type RaidDevice } from '@dmraid/core';
import type { CommandContext } from '../context.js';
import { noRaidDisks, withDevices } from '../devices.js';
import { formatError, setLines } from '../display.js';

const EXIT: Record<Health, number> = { ok: 0, degraded: 1, unusable: 2 };
const TEST_ERROR = 4;

export default async function command(ctx: CommandContext): Promise<number> {
  const { o } = ctx;
  // --test's status, set once the sets are known; an error before (a device that cannot be opened) leaves it.
  let health: number | undefined;
  const status = await withDevices(ctx, {}, async (devices) => {
    const r = await listSets(ctx, devices);
    health = r.health;
    return r.status;
  });
  return o.test ? (health ?? TEST_ERROR) : status;
}

async function listSets(ctx: CommandContext, devices: Parameters<CommandContext['discover']>[0]): Promise<{ status: number; health?: number }> {
  const { o, out } = ctx;
  // -t takes several sets (mdadm --detail --test does); dmraid's -s takes one name.
  const several = o.test && o.operands.length > 1;
  const name = several ? undefined : o.operands[0];
  const found = await ctx.discover(devices, { name });
  const { disks } = found;
  let sets = found.sets;
  let unknown: string[] = [];
  if (several) ({ sets, unknown } = setsNamed(sets, o.operands));
  if (disks.length === 0) return { status: noRaidDisks(ctx), health: TEST_ERROR };
  for (const u of unknown) out.log('error', `RAID set "${u}" not found`);
  // Grouping again changes the members' statuses: only once the sets are printed.
  const health = () => (o.test ? testHealth(ctx, found.raidDevices, name, several) : TEST_ERROR);
  if (sets.length === 0) {
    if (name === undefined && !several) out.log('error', 'no RAID set found');
    else if (!several && o.operands.length > 1 && !o.operands[1]!.startsWith('-')) out.log('error', 'only one argument allowed for this option');
    else if (!several) out.log('error', 'either the required RAID set not found or more options required');
    if (o.json) out.emitJson({ sets: [] });
    else out.log('print', formatError(o, 'sets'));
    const h = health();
    return { status: 1, health: h === EXIT.ok ? TEST_ERROR : h };
  }
  if (o.json) {
    const superseded = found.superseded.map(raidDeviceToJson);
    out.emitJson({ sets: sets.map((s) => raidSetToJson(s, setFormat(s) ?? null)), ...(superseded.length > 0 ? { supersededDevices: superseded } : {}) });
  }
  else for (const set of sets) for (const l of setLines(set, o)) out.line(l);
  if (unknown.length > 0) return { status: 0, health: TEST_ERROR };
  return { status: 0, health: health() };
}

/**
 * The exit status of the sets as they are on the disks: grouped again, silently, with the sets dmraid removes
 * kept (a RAID5 short of a member that a handler drops is readable all the same), so that what -s does not list
 * still counts. A member no set takes (its set could not be built) makes it unusable.
 */
function testHealth(ctx: CommandContext, raidDevices: readonly RaidDevice[], name: string | undefined, several: boolean): number {
  const { o } = ctx;
  let sets = buildSets(raidDevices, { handlers: [...ctx.handlers], log: () => undefined, name, keepFailed: true });
  if (several) sets = setsNamed(sets, o.operands).sets;
  const wanted = o.operands.length > 0 ? o.operands : undefined;
  if (unassembledMembers(raidDevices, sets, wanted).length > 0) return EXIT.unusable;
  if (sets.length === 0) return TEST_ERROR;
  return EXIT[sets.reduce<Health>((h, s) => worseHealth(h, setHealth(s).health), 'ok')];
}
