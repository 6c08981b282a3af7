/**
 * What a handler's writer offers the testbed (`testbedSets()` in each handler's writer.ts): sets of member
 * images, each member a size and its metadata areas, named sda, sdb, ... in device order.
 */

/** One metadata area of a member image: bytes at a byte offset. */
export interface ImageArea {
  readonly offsetBytes: number;
  readonly data: Uint8Array;
}

/** A member image as a writer builds it: its size and one metadata area. */
export interface MemberImage {
  readonly sizeSectors: number;
  readonly offsetBytes: number;
  readonly data: Uint8Array;
}

/** A member image with several areas (copies, several volumes). */
export interface MultiAreaMemberImage {
  readonly sizeSectors: number;
  readonly areas: ImageArea[];
}

export interface TestbedSetDefinition {
  readonly config: string;
  readonly description: string;
  readonly members: { name: string; serial: string; sizeSectors: number; areas: ImageArea[] }[];
}

export interface TestbedSetOptions {
  /** Indexes (in the writer's member order) of members left out: a degraded set. */
  readonly missing?: readonly number[];
  /** The member's drive serial from its index. */
  readonly serial: (index: number) => string;
  /** Which index the serial gets: the member's place among those kept (default), or in the writer's order. */
  readonly serialIndex?: 'kept' | 'original';
}

/** `config` as a serial stem: letters and digits, upper case, at most `length` of them. */
export const serialStem = (config: string, length: number) => config.replace(/[^a-z0-9]/gi, '').toUpperCase().slice(0, length);

export function testbedSet(config: string, description: string, images: readonly (MemberImage | MultiAreaMemberImage)[], options: TestbedSetOptions): TestbedSetDefinition {
  const kept = images.map((m, i) => ({ m, i })).filter(({ i }) => !options.missing?.includes(i));
  return {
    config,
    description,
    members: kept.map(({ m, i }, k) => ({
      name: `sd${String.fromCharCode(97 + k)}`,
      serial: options.serial(options.serialIndex === 'original' ? i : k),
      sizeSectors: m.sizeSectors,
      areas: 'areas' in m ? [...m.areas] : [{ offsetBytes: m.offsetBytes, data: m.data }],
    })),
  };
}
