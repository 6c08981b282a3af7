/**
 * `@dmraid/format-template/testbed`: sample sets of this format as plain data, which testkit's
 * `buildTestbedSet` turns into member disks named sda, sdb, ... Not part of the main entry: only tests and the
 * testbed recorder use it.
 */
import type { TestbedSetSpec } from '@dmraid/core/testbed';
import { buildTemplateSet, type TemplateSetSpec } from './writer.js';

const DISK = 32768;

function sampleSet(config: string, description: string, spec: TemplateSetSpec, missing: readonly number[] = []): TestbedSetSpec {
  return { config, description, images: buildTemplateSet(spec), missing, serials: { prefix: 'TMPL' } };
}

/**
 * The sets the tests use. Once the reference dmraid knows your format, rename this to `testbedSets` (the
 * recorder, tools/testbed/cli.mjs, generates testbed/<format>/ from that) and record its outputs
 * (docs/plugins.md); a made-up format has no reference.
 */
export function sampleSets(): TestbedSetSpec[] {
  return [
    sampleSet('raid0-2', 'RAID0 over two disks, 64 KiB stripes', { level: 'raid0', id: 0x2021, disks: 2, diskSectors: DISK }),
    sampleSet('raid1-2', 'RAID1 over two disks', { level: 'raid1', id: 0x3031, disks: 2, diskSectors: DISK }),
    sampleSet('raid1-2-degraded', 'RAID1 with its second disk missing (kept, inconsistent)', { level: 'raid1', id: 0x3032, disks: 2, diskSectors: DISK }, [1]),
  ];
}
