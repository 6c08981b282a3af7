// `-s --test`: the normal -s output, and the sets' health as the exit status (mdadm --detail --test's 0 ok,
// 1 degraded but readable, 2 unusable, 4 an error). Each expectation comes from the set's description in its
// set.json (what is missing or failed, and the level), not from the health function.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTestbedImages, listTestbedSets, reference, runOurs, runReference, testbedDir, testIf } from '@dmraid/testkit';
import { imagesOf, tmp } from './helpers.js';
import { validate } from './json-schema.js';


// 1: a mirror short of a leg (or with a failed, rebuilding or out-of-sync one), a RAID5 short of one member, a
// RAID10 with every mirror still holding a leg, a set whose metadata is not in sync (nosync, degraded map).
const DEGRADED = `
ddf1/failed-disk ddf1/mdadm-raid1-2-missing ddf1/mdadm-raid5-3-failed ddf1/raid1-2-degraded ddf1/raid5-4-degraded
ddf1/rebuilding-disk ddf1/rebuilding-first-disk ddf1/stale-raid1-2-mdadm
hpt37x/raid01-4-degraded hpt37x/raid1-2-degraded hpt37x/raid10-4-degraded hpt37x/raid10-4-half
hpt45x/raid1-2-degraded hpt45x/raid10-4-degraded
isw/raid1-2-degraded isw/raid1-2-degraded-both isw/raid1-2-rebuilding isw/raid1-2-rebuilding-first isw/raid10-4-missing
isw/raid5-3-missing isw/stale-raid1-2-mdadm
nvidia/raid1-2-badsum nvidia/raid1-2-degraded nvidia/raid1-2-rebuild nvidia/raid10-4-badsum nvidia/raid10-4-degraded
nvidia/raid5-3-badsum nvidia/raid5-3-degraded nvidia/raid5-3-init
pdc/raid1-2-badsum pdc/raid1-2-degraded pdc/raid1-2-down pdc/raid10-4-degraded
sil/raid1-2-degraded sil/raid1-2-notready sil/raid10-4-degraded sil/raid5-3-degraded
via/raid01-4-badsum via/raid01-4-degraded via/raid1-2-badsum via/raid1-2-degraded via/raid1-2-foreign via/raid1-3-sparerole`;

// 2: a stripe or span short of a member (missing, bad checksum, marked bad or broken), a stripe of mirrors short
// of a mirror, a set of two volumes one of which is such a stripe, and sets that cannot be built at all (an
// unsupported level, sil's RAID1 with a spare, which the reference removes too: dmraid cannot use them).
const UNUSABLE = `
ddf1/raid0-2-degraded
hpt37x/raid0-2-bad hpt37x/raid0-2-degraded hpt37x/raid01-4-half hpt37x/span-2-degraded
hpt45x/raid0-2-bad hpt45x/raid0-2-degraded hpt45x/raid10-4-plainstripe hpt45x/span-2-degraded
isw/matrix-3-missing isw/raid0-2-missing
nvidia/jbod-2-badsum nvidia/jbod-2-degraded nvidia/level8a-2-unsupported nvidia/raid0-2-badsum nvidia/raid0-2-broken
nvidia/raid0-2-degraded nvidia/raid3-2-hidden
pdc/raid0-2-badsum pdc/raid0-2-degraded pdc/span-2-degraded pdc/two-arrays-degraded
sil/jbod-2-degraded sil/raid0-2-degraded sil/raid1-2-spare
via/raid0-2-badsum via/raid0-2-degraded via/span-2-badsum via/span-2-degraded`;

// 4: no set on the disks (a DDF container without a virtual drive).
const NO_SET = ['ddf1/container-only'];

// Every other set is healthy (0). Two read so by their format's own rules: hpt37x's "a full mirror is trusted"
// (raid1-2-bad) and isw's initialising RAID5 (raid5-3-initialising: a first resync, which mdadm's --test counts
// clean too).
const words = (s: string) => s.trim().split(/\s+/);
const expectedStatus = (set: string) => (words(DEGRADED).includes(set) ? 1 : words(UNUSABLE).includes(set) ? 2 : NO_SET.includes(set) ? 4 : 0);

describe('-s --test', () => {
  it('exits 0, 1, 2 or 4 for every testbed set as its description says, printing exactly what -s prints', async () => {
    const dir = tmp('health');
    const failures: string[] = [];
    const sets = await listTestbedSets(testbedDir);
    for (const w of [...words(DEGRADED), ...words(UNUSABLE), ...NO_SET]) expect(sets.map((s) => `${s.format}/${s.config}`)).toContain(w);
    for (const set of sets) {
      const name = `${set.format}/${set.config}`;
      const sub = join(dir, `${set.format}-${set.config}`);
      const images = (await buildTestbedImages(set, sub)).map((s) => join(sub, s));
      const plain = await runOurs(images, ['-s'], { cwd: sub });
      const test = await runOurs(images, ['-s', '--test'], { cwd: sub });
      if (test.status !== expectedStatus(name)) failures.push(`${name}: exit ${test.status}, expected ${expectedStatus(name)}`);
      if (test.stdout !== plain.stdout || test.stderr !== plain.stderr) failures.push(`${name}: -s -t printed other than -s`);
      const json = await runOurs(images, ['-s', '-t', '--json'], { cwd: sub });
      if (json.status !== test.status) failures.push(`${name}: --json exit ${json.status}`);
      if (!validate(JSON.parse(json.stdout))) failures.push(`${name}: ${JSON.stringify(validate.errors)}`);
    }
    expect(failures.join('\n')).toBe('');
  }, 600_000);

  it('--json carries the found/expected counts and each member\'s state', async () => {
    const dir = tmp('health-json');
    const images = await imagesOf(dir, 'isw/raid1-2-rebuilding', 'hpt45x/raid1-2-degraded', 'hpt45x/raid0-2-spare');
    const doc = JSON.parse((await runOurs(images, ['-s', '-t', '--json'], { cwd: dir })).stdout);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    const mirror = doc.sets.find((s: any) => s.type === 'mirror');
    expect(mirror).toMatchObject({ health: 'degraded', expectedDevices: 2, foundDevices: 1, healthReason: expect.any(String) });
    const isw = doc.sets.find((s: any) => s.type === 'GROUP').sets[0];
    expect(isw).toMatchObject({ health: 'degraded', expectedDevices: 2, foundDevices: 2 });
    expect(isw.devices.map((d: any) => d.state).sort()).toEqual(['active', 'rebuilding']);
    const stripe = doc.sets.find((s: any) => s.type === 'stripe');
    expect(stripe).toMatchObject({ health: 'ok', expectedDevices: 2, foundDevices: 2 });
    expect(stripe.healthReason).toBeUndefined();
    const r = JSON.parse((await runOurs(images, ['-r', '--json'], { cwd: dir })).stdout);
    expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
    expect(r.raidDevices.find((d: any) => d.type === 'spare').state).toBe('spare');
    // The check marks the member left of a stripe half short of one broken: the half is unusable, the member
    // itself active; the RAID10 reads from its other half.
    const raid10 = JSON.parse((await runOurs(await imagesOf(dir, 'hpt45x/raid10-4-degraded'), ['-s', '-t', '--json'], { cwd: dir })).stdout).sets[0];
    expect(raid10).toMatchObject({ health: 'degraded', expectedDevices: 4, foundDevices: 3 });
    const half = raid10.sets.find((s: any) => s.devices.length === 1);
    expect(half).toMatchObject({ health: 'unusable', expectedDevices: 2, foundDevices: 1 });
    expect(half.devices.map((d: any) => [d.status, d.state])).toEqual([['broken', 'active']]);
  });

  it('takes several sets, and exits 4 for a set not found or a device that cannot be opened', async () => {
    const dir = tmp('health-names');
    const images = await imagesOf(dir, 'hpt45x/raid1-2', 'hpt45x/raid1-2-degraded', 'hpt45x/raid0-2-degraded');
    const names = JSON.parse((await runOurs(images, ['-s', '--json'], { cwd: dir })).stdout).sets.map((s: any) => [s.name, s.status]);
    const ok = names.find((n: any) => n[1] === 'ok')[0];
    const degraded = names.find((n: any) => n[1] === 'inconsistent')[0];
    expect((await runOurs(images, ['-s', '-t', ok], { cwd: dir })).status).toBe(0);
    expect((await runOurs(images, ['-s', '-t', degraded], { cwd: dir })).status).toBe(1);
    expect((await runOurs(images, ['-s', '-t', ok, degraded], { cwd: dir })).status).toBe(1);
    // The stripe short of a member is on the disks (the reference removes it from -s): the whole lot is unusable.
    expect((await runOurs(images, ['-s', '-t'], { cwd: dir })).status).toBe(2);
    const unknown = await runOurs(images, ['-s', '-t', ok, 'nosuchset'], { cwd: dir });
    expect(unknown.status).toBe(4);
    expect(unknown.stderr).toContain('ERROR: RAID set "nosuchset" not found\n');
    expect((await runOurs(images, ['-s', '-t', 'nosuchset'], { cwd: dir })).status).toBe(4);
    expect((await runOurs(['no-such.img'], ['-s', '-t'], { cwd: dir })).status).toBe(4);
    // Without -t, -s keeps the reference's statuses.
    expect((await runOurs(images, ['-s', 'nosuchset'], { cwd: dir })).status).toBe(1);
    expect((await runOurs(images, ['-s', degraded], { cwd: dir })).status).toBe(0);
  });

  // A deliberate deviation (docs/deviations.md): the reference refuses -t beside -s.
  testIf(it, reference())('the reference refuses -s -t, which we take', async () => {
    const dir = tmp('health-ref');
    const images = await imagesOf(dir, 'hpt45x/raid1-2');
    const theirs = await runReference(images, ['-s', '-t'], { cwd: dir });
    expect(theirs).toEqual({ status: 1, stdout: '', stderr: 'ERROR: invalid option combination (-h for help)\n' });
    const ours = await runOurs(images, ['-s', '-t'], { cwd: dir });
    expect(ours).toEqual({ ...(await runReference(images, ['-s'], { cwd: dir })), status: 0 });
    // -t still goes with -a and -s only.
    for (const args of [['-r', '-t'], ['-t'], ['-b', '-t']]) {
      expect(await runOurs(images, args, { cwd: dir }), args.join(' ')).toEqual(await runReference(images, args, { cwd: dir }));
    }
  }, 120_000);
});
