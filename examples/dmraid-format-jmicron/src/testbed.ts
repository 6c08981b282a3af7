/**
 * `dmraid-format-jmicron/testbed`: every layout jmicron supports as plain data (the shape of
 * `@dmraid/core/testbed`), which testkit's `buildTestbedSet` turns into member disks named sda, sdb, ... Not
 * part of the main entry: only the tests and the testbed recorder (tools/testbed.mjs) use it.
 */
import type { TestbedSetSpec } from '@dmraid/core/testbed';
import { buildJmSet, type JmSetSpec } from './writer.js';

const DISK = 65536;

function testbedSet(config: string, description: string, spec: JmSetSpec, missing: readonly number[] = []): TestbedSetSpec {
  return { config, description, images: buildJmSet(spec), missing, serials: { prefix: 'JM', stemLength: 12 } };
}

/** Every layout jmicron supports, healthy and with a member missing or marked bad. */
export function testbedSets(): TestbedSetSpec[] {
  return [
    testbedSet('jbod-2', 'JBOD over two disks', { level: 'jbod', label: 'Span', disks: 2, diskSectors: DISK }),
    testbedSet('raid0-2', 'RAID0 over two disks, 64 KiB stripes', { level: 'raid0', label: 'Stripe', disks: 2, diskSectors: DISK }),
    testbedSet('raid0-3', 'RAID0 over three disks, 16 KiB stripes', { level: 'raid0', label: 'Stripe3', disks: 3, diskSectors: DISK, block: 4 }),
    testbedSet('raid0-2-degraded', 'RAID0 with a member missing (removed as broken)', { level: 'raid0', label: 'Stripe', disks: 2, diskSectors: DISK }, [1]),
    testbedSet('raid0-2-bad', 'RAID0 with one member whose attribute marks it bad', { level: 'raid0', label: 'Bad', disks: 2, diskSectors: DISK, bad: [1] }),
    testbedSet('raid1-2', 'RAID1 over two disks', { level: 'raid1', label: 'Mirror', disks: 2, diskSectors: DISK }),
    testbedSet('raid1-2-degraded', 'RAID1 with a member missing (kept, inconsistent)', { level: 'raid1', label: 'Mirror', disks: 2, diskSectors: DISK }, [0]),
    testbedSet('raid01-4', 'RAID 0+1: a stripe over two mirrored pairs', { level: 'raid01', label: 'Both', disks: 4, diskSectors: DISK }),
    testbedSet('raid01-4-degraded', 'RAID 0+1 with one disk of the second pair missing', { level: 'raid01', label: 'Both', disks: 4, diskSectors: DISK }, [3]),
    testbedSet('raid5-3', 'RAID5 over three disks: in the metadata, not supported by dmraid', { level: 'raid5', label: 'Parity', disks: 3, diskSectors: DISK }),
    testbedSet('label-16', 'RAID1 with a label of 16 characters and no NUL: dmraid reads on into the mode byte', { level: 'raid1', label: 'SixteenCharsName', disks: 2, diskSectors: DISK }),
  ];
}
