/**
 * Differential material against the real kernel: testbed member images with a known pattern outside their
 * metadata, the reference dmraid's tables for them (`dmraid-ref -tay`), the same tables with one member
 * gone (as the level allows), and the bytes /dev/mapper/<name> gives in ../shared/tools/dm-vm.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildTestbedImages, runDmVm, runReference, type TestbedSet } from '@dmraid/testkit';
import { parseTable, isTableError } from '../src/index.js';

/** Volumes up to this size are compared whole; larger ones (512 MiB members) by windows. */
export const WHOLE = 64 * 1024 * 1024;
/** Bytes read at the head, middle and tail of a volume larger than WHOLE. */
export const WINDOW = 512 * 1024;
/** Bytes of pattern at each end of every member: enough for the windows on any layout of ≤ 6 members. */
const PATTERNED = 4 * 1024 * 1024;
/** Bytes of pattern in the middle of every member, so that a whole volume has data away from its ends. */
const MIDDLE = 1024 * 1024;

export interface Member {
  readonly path: string;
  readonly serial: string | undefined;
}

export interface Case {
  /** format/config[/-member]. */
  readonly id: string;
  readonly members: Member[];
  /** Tables in creation order, member paths as in `members`. */
  readonly tables: { name: string; table: string }[];
  /** The top-level devices to compare. */
  readonly tops: string[];
}

/** A deterministic byte for member `m` at byte offset `o`: every sector differs, every member differs. */
function fillPattern(buf: Uint8Array, m: number, offset: number) {
  for (let i = 0; i < buf.length; i++) {
    const o = offset + i;
    buf[i] = ((o >>> 9) * 31 + (o & 511) * 7 + m * 101 + (o >>> 17)) & 0xff;
  }
}

/** Build the set's members in `dir` with the pattern at both ends and in the middle of each, metadata areas untouched. */
export async function buildPatternedMembers(set: TestbedSet, dir: string): Promise<Member[]> {
  const specs = await buildTestbedImages(set, dir);
  const files = await fs.readdir(set.dir);
  const members: Member[] = [];
  for (const [m, spec] of specs.entries()) {
    const colon = spec.indexOf(':');
    const image = join(dir, colon < 0 ? spec : spec.slice(0, colon));
    const name = set.members[m]!.name;
    const keep: [number, number][] = [];
    for (const f of files.filter((f) => f.endsWith('.offset') && (f === `${name}.offset` || f.startsWith(`${name}_`)))) {
      const off = Number((await fs.readFile(join(set.dir, f), 'utf8')).trim());
      const len = (await fs.stat(join(set.dir, f.replace(/\.offset$/, '.dat')))).size;
      keep.push([off, off + len]);
    }
    const size = (await fs.stat(image)).size;
    const h = await fs.open(image, 'r+');
    try {
      const mid = Math.floor(size / 2 / MIDDLE) * MIDDLE;
      const regions: [number, number][] = [
        [0, Math.min(size, PATTERNED)],
        [Math.max(PATTERNED, mid), Math.max(PATTERNED, Math.min(mid + MIDDLE, size - PATTERNED))],
        [Math.max(PATTERNED, size - PATTERNED), size],
      ];
      for (const [a, b] of regions) {
        if (b <= a) continue;
        const buf = new Uint8Array(b - a);
        fillPattern(buf, m, a);
        // Put the metadata back where it overlaps.
        const old = new Uint8Array(b - a);
        await h.read(old, 0, b - a, a);
        for (const [ka, kb] of keep) {
          const s = Math.max(a, ka);
          const e = Math.min(b, kb);
          if (s < e) buf.set(old.subarray(s - a, e - a), s - a);
        }
        await h.write(buf, 0, buf.length, a);
      }
    } finally {
      await h.close();
    }
    members.push({ path: image, serial: colon < 0 ? undefined : spec.slice(colon + 1) });
  }
  return members;
}

/** The reference dmraid's tables (`-tay`) for the members, in its creation order. */
export async function referenceTables(members: readonly Member[]): Promise<{ name: string; table: string }[]> {
  const images = members.map((m) => (m.serial ? `${m.path}:${m.serial}` : m.path));
  const out = (await runReference(images, ['-tay'], { cwd: dirname(members[0]!.path) })).stdout;
  const order: string[] = [];
  const lines = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const m = /^(\S+?): (\d+ \d+ .*)$/.exec(line.trim());
    if (!m) continue;
    if (!lines.has(m[1]!)) order.push(m[1]!), lines.set(m[1]!, []);
    lines.get(m[1]!)!.push(m[2]!);
  }
  return order.map((name) => ({ name, table: lines.get(name)!.join('\n') }));
}

export function topLevel(tables: readonly { name: string; table: string }[]): string[] {
  const used = new Set(tables.flatMap((t) => [...t.table.matchAll(/\/dev\/mapper\/(\S+)/g)].map((m) => m[1]!)));
  return tables.filter((t) => !used.has(t.name)).map((t) => t.name);
}

/**
 * The tables with member `gone` missing, as far as redundancy allows: dm-raid gets `- -` for it, a mirror
 * drops the leg (one leg left: a linear mapping, as dmraid maps a degraded mirror), and a device that still
 * needs it is gone too. Undefined when a top-level device is lost.
 */
export function withoutMember(tables: readonly { name: string; table: string }[], gone: string): { name: string; table: string }[] | undefined {
  const dead = new Set<string>([gone]);
  const out: { name: string; table: string }[] = [];
  for (const t of tables) {
    const lines = parseTable(t.name, t.table);
    if (isTableError(lines)) return undefined;
    let lost = false;
    const text: string[] = [];
    for (const l of lines) {
      const args = [...l.args];
      const isDead = (a: string) => dead.has(a) || (a.startsWith('/dev/mapper/') && dead.has(a.slice(12)));
      if (l.type === 'raid') {
        const n = Number(args[1]);
        const devStart = 2 + n + 1;
        let missing = 0;
        for (let i = devStart; i < args.length; i += 2) {
          if (args[i + 1] === '-' || isDead(args[i + 1]!)) {
            args[i] = '-';
            args[i + 1] = '-';
            missing++;
          }
        }
        if (missing > 1) lost = true;
        text.push(`${l.start} ${l.length} raid ${args.join(' ')}`);
      } else if (l.type === 'mirror') {
        const logArgs = Number(args[1]);
        const at = 2 + logArgs;
        const legs: [string, string][] = [];
        for (let i = 0; i < Number(args[at]); i++) legs.push([args[at + 1 + 2 * i]!, args[at + 2 + 2 * i]!]);
        const alive = legs.filter(([d]) => !isDead(d));
        const rest = args.slice(at + 1 + 2 * legs.length);
        if (alive.length === 0) lost = true;
        else if (alive.length === 1) text.push(`${l.start} ${l.length} linear ${alive[0]![0]} ${alive[0]![1]}`);
        else text.push(`${l.start} ${l.length} mirror ${args.slice(0, at).join(' ')} ${alive.length} ${alive.flat().join(' ')} ${rest.join(' ')}`.trim());
      } else {
        if (args.some(isDead)) lost = true;
        text.push(`${l.start} ${l.length} ${l.type} ${args.join(' ')}`);
      }
    }
    if (lost) dead.add(t.name);
    else out.push({ name: t.name, table: text.join('\n') });
  }
  const tops = topLevel(tables);
  if (tops.some((n) => dead.has(n))) return undefined;
  return out;
}

/**
 * The table as this kernel takes it, data unchanged: dm-raid 1.15 refuses a region smaller than the chunk;
 * member paths become the VM's disks.
 */
export function forKernel(table: string, paths: Map<string, string>): string {
  return table
    .split('\n')
    .map((line) => {
      const m = /^(\d+ \d+ raid \S+ \d+ (\d+) .*?region_size )(\d+)(.*)$/.exec(line);
      let fixed = m ? `${m[1]}${Math.max(Number(m[3]), Number(m[2]))}${m[4]}` : line;
      // A `sync` mirror would resync leg 0 onto the others inside the VM, changing the members under the
      // next case; reads come from leg 0 either way, so the kernel gets `nosync`.
      fixed = fixed.replace(/^(\d+ \d+ mirror core \d+ \d+) sync /, '$1 nosync ');
      return fixed.split(' ').map((t) => paths.get(t) ?? t).join(' ');
    })
    .join('\n');
}

/**
 * What is compared of a volume of `bytes`: all of it up to WHOLE, else windows at its head, middle (where
 * the members' middle pattern lands on most layouts) and tail; [offset, length] pairs.
 */
export function windows(bytes: number): [number, number][] {
  if (bytes <= WHOLE) return [[0, bytes]];
  const middle = Math.floor((bytes / 2 - WINDOW / 2) / 512) * 512;
  return [[0, WINDOW], [middle, WINDOW], [bytes - WINDOW, WINDOW]];
}

/** MD5: the fastest hash of the VM's coreutils under emulation (nothing here is adversarial). */
export const newDigest = () => createHash('md5');

/**
 * In one VM boot per batch of ≤ 26 disks: load each case's tables, hash each top device's windows.
 * Result: `caseId device offset` → md5, and the device's size in bytes.
 */
export async function kernelHashes(cases: readonly Case[], sizes: Map<string, number>): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  let batch: Case[] = [];
  let disks = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const images: string[] = [];
    const script: string[] = [];
    const devOf = new Map<string, string>();
    for (const c of batch) {
      for (const m of c.members) {
        if (!devOf.has(m.path)) {
          devOf.set(m.path, `/dev/sd${String.fromCharCode(97 + devOf.size)}`);
          images.push(m.serial ? `${m.path}:${m.serial}` : m.path);
        }
      }
    }
    for (const [ci, c] of batch.entries()) {
      const prefix = `c${ci}_`;
      const rename = new Map<string, string>(devOf);
      for (const t of c.tables) rename.set(`/dev/mapper/${t.name}`, `/dev/mapper/${prefix}${t.name}`);
      // The kernel takes no character device: dmraid's /dev/zero pieces become a zero target.
      rename.set('/dev/zero', `/dev/mapper/${prefix}zero`);
      script.push(`echo '0 ${2 ** 40} zero' | dmsetup create ${prefix}zero`);
      for (const t of c.tables) {
        script.push(`printf '%b\\n' ${JSON.stringify(forKernel(t.table, rename))} | dmsetup create ${prefix}${t.name} || echo "FAIL ${c.id} ${t.name}"`);
      }
      for (const top of c.tops) {
        const dev = `/dev/mapper/${prefix}${top}`;
        script.push(`echo "SIZE ${c.id} ${top} $(blockdev --getsize64 ${dev})"`);
        const bytes = sizes.get(`${c.id} ${top}`);
        for (const [off, len] of bytes === undefined ? [] : windows(bytes)) {
          const read = len === bytes ? `md5sum < ${dev}` : `dd if=${dev} bs=512 skip=${off / 512} count=${len / 512} 2>/dev/null | md5sum`;
          script.push(`echo "HASH ${c.id} ${top} ${off} $(${read} | cut -d' ' -f1)"`);
        }
      }
      for (const t of [...c.tables].reverse()) script.push(`dmsetup remove ${prefix}${t.name}`);
      script.push(`dmsetup remove ${prefix}zero`);
    }
    const r = await runDmVm(images, script.join('\n'), { snapshot: true, timeout: 600 });
    for (const line of r.stdout.split('\n')) {
      const h = /^HASH (\S+) (\S+) (\d+) ([0-9a-f]{32})$/.exec(line);
      if (h) result.set(`${h[1]} ${h[2]} ${h[3]}`, h[4]!);
      const s = /^SIZE (\S+) (\S+) (\d+)$/.exec(line);
      if (s) result.set(`${s[1]} ${s[2]} size`, s[3]!);
      const f = /^FAIL (\S+) (\S+)$/.exec(line);
      if (f) result.set(`${f[1]} ${f[2]} fail`, 'fail');
    }
    if (!r.stdout) result.set(`batch-error ${batch[0]!.id}`, r.stderr.slice(-2000));
    batch = [];
    disks = 0;
  };
  for (const c of cases) {
    if (disks + c.members.length > 26) await flush();
    batch.push(c);
    disks += c.members.length;
  }
  await flush();
  return result;
}
