/**
 * The RAID4/5 parity check's inner loop: which 512-byte sectors of a row's chunks do not XOR to zero (a
 * row is consistent when its data chunks XOR to its parity chunk, i.e. all its chunks XOR to zero). On
 * WebAssembly SIMD the members' chunks are read straight into the module's memory and the XOR of three of
 * them is tested in one pass, 16 bytes a step, without writing a sum anywhere (more members: the others
 * XORed into a scratch buffer first): the check then costs little more than reading the members
 * (docs/benchmarks.md "check-data"). A plain loop over 32-bit words does the same where WebAssembly SIMD is
 * missing.
 */
import { DATA_IN_PAGE, PAGE, skewed } from './pool.js';
import { SECTOR } from './source.js';
import {
  anyTrue, funcBody, get, i32Add, i32Const, i32LtU, I32, load, moduleBytes, or, set, store, store8, tee, V128, wasmApi, xor, zero128,
  type WasmApi, type WasmMemory,
} from './wasm.js';

export interface ParityScan {
  readonly simd: boolean;
  /**
   * `count` buffers of `bytes` each (a multiple of 512) to read the members' chunks into. They stay valid
   * until the next call: the buffers of one call are the scanner's, reused by the next.
   */
  buffers(count: number, bytes: number): Uint8Array[];
  /**
   * Per sector of `bufs` (all of one length, a multiple of 512): 1 where the XOR of all of them is not
   * zero, else 0. The result is the scanner's, valid until its next call. Any buffers work; those of
   * `buffers` are scanned in place.
   */
  oddSectors(bufs: readonly Uint8Array[]): Uint8Array;
}

/** The plain loop: per sector, the OR of the XOR of every buffer's words (bytes where one is not word-aligned). */
function oddSectorsInto(bufs: readonly Uint8Array[], odd: Uint8Array): void {
  const n = bufs[0]!.length;
  const words = bufs.every((b) => b.byteOffset % 4 === 0);
  const views: readonly ArrayLike<number>[] = words ? bufs.map((b) => new Uint32Array(b.buffer, b.byteOffset, n >>> 2)) : bufs;
  const per = words ? SECTOR >>> 2 : SECTOR;
  for (let s = 0; s < n / SECTOR; s++) {
    let acc = 0;
    for (let i = s * per, end = i + per; i < end; i++) {
      let x = views[0]![i]!;
      for (let d = 1; d < views.length; d++) x ^= views[d]![i]!;
      acc |= x;
    }
    odd[s] = acc === 0 ? 0 : 1;
  }
}

const check = (bufs: readonly Uint8Array[]) => {
  const n = bufs[0]?.length ?? 0;
  if (n % SECTOR !== 0 || bufs.some((b) => b.length !== n)) throw new RangeError('parity scan: buffers of one length, whole sectors');
  return n;
};

/** The plain loops, in ordinary memory. */
export function plainParityScan(): ParityScan {
  let bufs: Uint8Array[] = [];
  let odd = new Uint8Array(0);
  return {
    simd: false,
    buffers(count, bytes) {
      if (bufs.length !== count || bufs[0]!.length !== bytes) bufs = Array.from({ length: count }, () => skewed(bytes));
      return bufs;
    },
    oddSectors(given) {
      const n = check(given);
      if (odd.length !== n / SECTOR) odd = new Uint8Array(n / SECTOR);
      oddSectorsInto(given, odd);
      return odd;
    },
  };
}

// The kernels' parameters: four addresses and a byte count; locals after them: i, the sector's end, acc.
const A = 0;
const B = 1;
const C = 2;
const D = 3;
const N = 4;
const I = 5;
const END = 6;
const ACC = 7;
const at = (p: number) => [...get(p), ...get(I), ...i32Add];
/** Skip everything when n is 0, else `step` (which advances i) until i reaches n. */
const loopToN = (step: number[]) => [0x02, 0x40, ...get(N), 0x45, 0x0d, 0, 0x03, 0x40, ...step, ...get(I), ...get(N), ...i32LtU, 0x0d, 0, 0x0b, 0x0b];
const advance = (by: number) => [...get(I), ...i32Const(by), ...i32Add, ...set(I)];
const locals: [number, number][] = [[2, I32], [1, V128]];

const KERNELS: Record<string, number[]> = {
  // (dst, x, y): dst = x ^ y
  xorTo: funcBody(locals, loopToN([...at(A), ...at(B), ...load(), ...at(C), ...load(), ...xor, ...store, ...advance(16)])),
  // (dst, x): dst ^= x
  xorIn: funcBody(locals, loopToN([...at(A), ...at(A), ...load(), ...at(B), ...load(), ...xor, ...store, ...advance(16)])),
  // (x, y, z, flags): per 512 bytes, flags[k++] = any bit of x ^ y ^ z (64 bytes a turn of the inner loop).
  odd3: funcBody(
    locals,
    loopToN([
      ...zero128, ...set(ACC),
      ...get(I), ...i32Const(SECTOR), ...i32Add, ...set(END),
      0x03, 0x40,
      ...[0, 16, 32, 48].flatMap((k) => [...get(ACC), ...at(A), ...load(k), ...at(B), ...load(k), ...xor, ...at(C), ...load(k), ...xor, ...or, ...set(ACC)]),
      ...get(I), ...i32Const(64), ...i32Add, ...tee(I), ...get(END), ...i32LtU, 0x0d, 0,
      0x0b,
      ...get(D), ...get(ACC), ...anyTrue, ...store8,
      ...get(D), ...i32Const(1), ...i32Add, ...set(D),
    ]),
  ),
};

export function parityModuleBytes(): Uint8Array {
  return moduleBytes(5, 1, KERNELS);
}

type Kernel = (a: number, b: number, c: number, d: number, n: number) => void;
interface Exports {
  readonly memory: WasmMemory;
  readonly xorTo: Kernel;
  readonly xorIn: Kernel;
  readonly odd3: Kernel;
}

const WASM_PAGE = 64 * 1024;
const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

function simdScan(wasm: WasmApi): ParityScan {
  const ex = new wasm.Instance(new wasm.Module(parityModuleBytes())).exports as Exports;
  const memory = ex.memory;
  const plain = plainParityScan();
  let bufs: Uint8Array[] = [];
  /** Where the sector flags and the running XOR (more than three buffers) are. */
  let flagsAt = 0;
  let sumAt = 0;
  /** A memory of at least `bytes` (growing replaces its buffer: views of the old one read nothing). */
  const reserve = (bytes: number) => {
    const have = memory.buffer.byteLength;
    if (bytes > have) memory.grow(Math.ceil((bytes - have) / WASM_PAGE));
  };
  return {
    simd: true,
    buffers(count, bytes) {
      if (bufs.length === count && bufs[0]!.length === bytes && bufs[0]!.buffer === memory.buffer) return bufs;
      // Each buffer DATA_IN_PAGE bytes past a page of the memory, which starts on one (pool.ts: the kernel's
      // copy into it is fast there, and a third of that speed 8-24 bytes past a page).
      const stride = roundUp(bytes + DATA_IN_PAGE, PAGE);
      flagsAt = 0;
      sumAt = roundUp(bytes / SECTOR, PAGE) + DATA_IN_PAGE;
      const first = sumAt - DATA_IN_PAGE + stride;
      reserve(first + count * stride);
      bufs = Array.from({ length: count }, (_, k) => new Uint8Array(memory.buffer, first + k * stride + DATA_IN_PAGE, bytes));
      return bufs;
    },
    oddSectors(given) {
      const n = check(given);
      const mine = given.length >= 3 && given.every((b) => b.buffer === memory.buffer) && given.every((b) => bufs.includes(b));
      if (!mine) return plain.oddSectors(given);
      const addr = given.map((b) => b.byteOffset);
      const k = addr.length;
      let x = addr[0]!;
      if (k > 3) {
        ex.xorTo(sumAt, addr[0]!, addr[1]!, 0, n);
        for (let d = 2; d < k - 2; d++) ex.xorIn(sumAt, addr[d]!, 0, 0, n);
        x = sumAt;
      }
      const [y, z] = k > 3 ? [addr[k - 2]!, addr[k - 1]!] : [addr[1]!, addr[2]!];
      ex.odd3(x, y, z, flagsAt, n);
      return new Uint8Array(memory.buffer, flagsAt, n / SECTOR);
    },
  };
}

/** Whether this Node runs the SIMD module: unknown until the first scanner is made. */
let simdRuns: boolean | undefined;

/** A scanner of its own (its buffers are its own): on WebAssembly SIMD where this Node has it, else the plain loops. */
export function parityScan(): ParityScan {
  if (simdRuns !== false && wasmApi) {
    try {
      const scan = simdScan(wasmApi);
      simdRuns = true;
      return scan;
    } catch {
      simdRuns = false;
    }
  }
  return plainParityScan();
}
