/**
 * What a handler's writer builds (`build<Format>Set` in each writer.ts): member images, each a disk size and
 * the metadata areas on it. Tests seed round trips with them; a handler's `./testbed` lists sets of them.
 */

/** One metadata area of a member image: bytes at a byte offset. */
export interface ImageArea {
  readonly offsetBytes: number;
  readonly data: Uint8Array;
}

/** A member image with one metadata area. */
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
