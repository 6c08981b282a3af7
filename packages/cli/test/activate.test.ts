/**
 * `-a y|n` against a fake dmsetup (a shell script keeping devices as files): creation order, already
 * active sets, rollback on a failure half-way, refusing a device in use, `-t -a n`, and the lock (`-i`).
 */
import { chmodSync, mkdtempSync, promises as fs, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildTestbedImages, listTestbedSets, runOurs, testbedDir } from '@dmraid/testkit';

const FAKE = `#!/bin/sh
S=$FAKE_DM_STATE
cmd=$1; shift
case $cmd in
ls) found=; for f in "$S"/*.table; do [ -f "$f" ] || continue; found=1; printf '%s\\t(254:0)\\n' "$(basename "$f" .table)"; done
    [ -n "$found" ] || echo "No devices found";;
info) for n; do :; done; [ -f "$S/$n.table" ] || { echo "Device does not exist." >&2; exit 1; }; cat "$S/$n.open" 2>/dev/null || echo 0;;
create) n=$1; [ -f "$S/$n.table" ] && { echo "device-mapper: create ioctl on $n failed: Device or resource busy" >&2; exit 1; }
    [ "$n" = "$FAKE_DM_FAIL" ] && { echo "device-mapper: reload ioctl on $n failed: Invalid argument" >&2; exit 1; }
    cat >"$S/$n.table"; echo "create $n $2 $3" >>"$S/log";;
remove) n=$1; [ -f "$S/$n.table" ] || { echo "Device does not exist." >&2; exit 1; }; rm "$S/$n.table"; echo "remove $n" >>"$S/log";;
*) exit 1;;
esac
`;

const work = mkdtempSync(join(tmpdir(), 'dmraid-activate-'));
afterAll(() => fs.rm(work, { recursive: true, force: true }));
const state = join(work, 'state');
let images: string[] = [];
const saved = { ...process.env };

beforeAll(async () => {
  writeFileSync(join(work, 'dmsetup'), FAKE);
  chmodSync(join(work, 'dmsetup'), 0o755);
  const set = (await listTestbedSets(testbedDir, 'hpt45x')).find((s) => s.config === 'raid10-4')!;
  images = await buildTestbedImages(set, work);
});
beforeEach(async () => {
  await fs.rm(state, { recursive: true, force: true });
  await fs.mkdir(state);
  Object.assign(process.env, { DMRAID_DMSETUP: join(work, 'dmsetup'), FAKE_DM_STATE: state, DMRAID_LOCKFILE: join(work, 'lock', '.lock'), DMRAID_LOCK_WAIT_MS: '300' });
  delete process.env.FAKE_DM_FAIL;
});
afterEach(() => {
  for (const k of ['DMRAID_DMSETUP', 'FAKE_DM_STATE', 'DMRAID_LOCKFILE', 'DMRAID_LOCK_WAIT_MS', 'FAKE_DM_FAIL']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

const dm = (...args: string[]) => runOurs(images, args, { cwd: work });
const log = async () => (await fs.readFile(join(state, 'log'), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
const devices = async () => (await fs.readdir(state)).filter((f) => f.endsWith('.table')).map((f) => f.slice(0, -6)).sort();

describe('dmraid -a y / -a n through dmsetup', () => {
  it('creates the stripes before the mirror over them, with dmraid uuids and messages', async () => {
    const r = await dm('-ay');
    expect(r).toEqual({
      status: 0,
      stderr: '',
      stdout: 'RAID set "hpt45x_bhehd-0" was activated\nRAID set "hpt45x_bhehd-1" was activated\nRAID set "hpt45x_bhehd" was activated\n',
    });
    expect(await log()).toEqual(['create hpt45x_bhehd-0 -u DMRAID-hpt45x_bhehd-0', 'create hpt45x_bhehd-1 -u DMRAID-hpt45x_bhehd-1', 'create hpt45x_bhehd -u DMRAID-hpt45x_bhehd']);
    expect(await fs.readFile(join(state, 'hpt45x_bhehd.table'), 'utf8')).toBe(
      '0 130816 mirror core 2 64 nosync 2 /dev/mapper/hpt45x_bhehd-0 0 /dev/mapper/hpt45x_bhehd-1 0 1 handle_errors\n',
    );
  });

  it('leaves an already active set as it is', async () => {
    await dm('-ay');
    const r = await dm('-ay');
    expect(r.stdout).toBe('RAID set "hpt45x_bhehd" already active\n');
    expect((await log()).length).toBe(3);
  });

  it('removes the set before its subsets and leaves nothing behind', async () => {
    await dm('-ay');
    expect(await dm('-an')).toEqual({ status: 0, stdout: '', stderr: '' });
    expect((await log()).slice(3)).toEqual(['remove hpt45x_bhehd', 'remove hpt45x_bhehd-0', 'remove hpt45x_bhehd-1']);
    expect(await devices()).toEqual([]);
  });

  it('says which sets are active under -t -a n', async () => {
    expect((await dm('-tan')).stdout).toBe('hpt45x_bhehd [inactive]\nhpt45x_bhehd-0 [inactive]\nhpt45x_bhehd-1 [inactive]\n');
  });

  it('undoes a failure half-way: the device-mapper is left as it was', async () => {
    writeFileSync(join(state, 'other.table'), '0 8 zero\n');
    process.env.FAKE_DM_FAIL = 'hpt45x_bhehd';
    const r = await dm('-ay');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('RAID set "hpt45x_bhehd" was not activated');
    expect(r.stderr).toContain('ERROR: device-mapper: reload ioctl on hpt45x_bhehd failed: Invalid argument');
    expect(r.stderr).toContain('ERROR: activation failed: removed "hpt45x_bhehd-1", "hpt45x_bhehd-0" again');
    expect(await devices()).toEqual(['other']);
  });

  it('takes an existing device with a subset\'s name for that subset, already active, as dmraid does', async () => {
    writeFileSync(join(state, 'hpt45x_bhehd-1.table'), 'theirs\n');
    const r = await dm('-ay');
    expect(r.stdout).toBe('RAID set "hpt45x_bhehd-1" already active\nRAID set "hpt45x_bhehd-0" was activated\nRAID set "hpt45x_bhehd" was activated\n');
    expect(await fs.readFile(join(state, 'hpt45x_bhehd-1.table'), 'utf8')).toBe('theirs\n');
  });

  it('refuses to remove a device in use and says so', async () => {
    await dm('-ay');
    writeFileSync(join(state, 'hpt45x_bhehd.open'), '1\n');
    const r = await dm('-an');
    expect(r).toEqual({ status: 1, stdout: '', stderr: 'ERROR: RAID set "hpt45x_bhehd" is in use (open count 1): not deactivated\n' });
    expect((await devices()).length).toBe(3);
  });

  it('waits for the lock of another run, and -i ignores it', async () => {
    await fs.mkdir(join(work, 'lock'), { recursive: true });
    writeFileSync(join(work, 'lock', '.lock'), `${process.pid}\n`);
    try {
      const r = await dm('-ay');
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^ERROR: flock lockfile .*\.lock: held by process \d+\n$/);
      expect(await devices()).toEqual([]);
      expect((await dm('-i', '-ay')).status).toBe(0);
    } finally {
      await fs.rm(join(work, 'lock'), { recursive: true, force: true });
    }
  });
});
