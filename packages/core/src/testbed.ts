/**
 * `@dmraid/core/testbed`: the shape of a testbed set as plain data. Each handler's `./testbed` export lists its
 * sets in this shape; testkit's `buildTestbedSet` names the members and gives them serials, and the testbed
 * recorder (tools/testbed/cli.mjs) writes them to testbed/<format>/<config>/. Types only: the main entry of
 * no published package carries test scaffolding, and a handler's `./testbed` reaches this without testkit
 * (which is private and depends on the CLI).
 */
import type { MemberImage, MultiAreaMemberImage } from './format/member-image.js';

/** A member image; `serial` where the metadata itself names the drive (isw's MPB lists its disks by serial). */
export type TestbedImage = (MemberImage | MultiAreaMemberImage) & { readonly serial?: string };

/**
 * How the members' drive serials are made: `prefix`, then the config's letters and digits in upper case (at
 * most `stemLength` of them), then the member's index: its place among the members kept (default) or in the
 * writer's order.
 */
export interface TestbedSerials {
  readonly prefix: string;
  readonly stemLength?: number;
  readonly index?: 'kept' | 'original';
}

export interface TestbedSetSpec {
  readonly config: string;
  readonly description: string;
  /** Every member image in the writer's order, those left out included. */
  readonly images: readonly TestbedImage[];
  /** Indexes (in the writer's order) of images left out: a degraded set. */
  readonly missing?: readonly number[];
  /** Serials for the images that do not carry their own. */
  readonly serials?: TestbedSerials;
  /** Written back, the set is not byte-identical on purpose (a damaged copy): no round-trip seed. */
  readonly damaged?: boolean;
}
