/**
 * Turns what a handler's `./testbed` export lists (`TestbedSetSpec`, plain data) into the members of a testbed
 * set: the images kept, named sda, sdb, ... in device order, each with its drive serial. The recorder writes
 * them with `writeTestbedSet`; tests take them as round-trip and fuzz seeds.
 */
import type { ImageArea } from '@dmraid/core';
import type { TestbedSerials, TestbedSetSpec } from '@dmraid/core/testbed';

export interface TestbedSetMember {
  readonly name: string;
  readonly serial: string;
  readonly sizeSectors: number;
  readonly areas: ImageArea[];
}

export interface TestbedSetDefinition {
  readonly config: string;
  readonly description: string;
  readonly members: TestbedSetMember[];
  /** Written back, the set is not byte-identical on purpose: no round-trip seed. */
  readonly damaged: boolean;
}

/** `config` as a serial stem: letters and digits, upper case, at most `length` of them. */
export const serialStem = (config: string, length = Infinity) => config.replace(/[^a-z0-9]/gi, '').toUpperCase().slice(0, length);

function ruleSerial(config: string, serials: TestbedSerials | undefined, original: number, kept: number): string {
  if (!serials) throw new Error(`testbed set ${config}: an image has no serial and the set no serials rule`);
  return `${serials.prefix}${serialStem(config, serials.stemLength)}${serials.index === 'original' ? original : kept}`;
}

export function buildTestbedSet(spec: TestbedSetSpec): TestbedSetDefinition {
  const kept = spec.images.map((image, i) => ({ image, i })).filter(({ i }) => !spec.missing?.includes(i));
  return {
    config: spec.config,
    description: spec.description,
    damaged: spec.damaged ?? false,
    members: kept.map(({ image, i }, k) => ({
      name: `sd${String.fromCharCode(97 + k)}`,
      serial: image.serial ?? ruleSerial(spec.config, spec.serials, i, k),
      sizeSectors: image.sizeSectors,
      // Only offset and bytes: a writer's own area flags (ddf1's `copy`) are not part of the dump.
      areas: 'areas' in image ? image.areas.map((a) => ({ offsetBytes: a.offsetBytes, data: a.data })) : [{ offsetBytes: image.offsetBytes, data: image.data }],
    })),
  };
}
