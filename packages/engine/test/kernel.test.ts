/**
 * Every testbed layout of every format: the volume our engine presents — read directly, extracted to a
 * file, and copied over NBD by nbdcopy — equals what the real kernel presents for the reference dmraid's
 * tables (../shared/tools/dm-vm), healthy and with each single member missing where the level allows.
 * Compared: every volume up to 64 MiB whole, larger ones (sets of 512 MiB members) by 512 KiB at their head,
 * middle and tail (member images are sparse, patterned at both ends and in the middle).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isIoError, openDevice, type WritableDevice } from '@dmraid/core';
import { dmVmBoots, inCI, listTestbedSets, reference, testbedDir, testIf } from '@dmraid/testkit';
import { createEngine, extract, fileSource, isTableError, NbdServer, type Source } from '../src/index.js';
import { buildPatternedMembers, kernelHashes, newDigest, referenceTables, topLevel, windows, withoutMember, type Case } from './kernel.js';

const run = promisify(execFile);
/** Cases whose tables the engine refused: `caseId top` → why. */
const refused = new Map<string, string>();

/** The digest of bytes [off, off + len) read in 4 MiB pieces (a short read leaves the digest short: a mismatch). */
async function hashSpan(off: number, len: number, read: (at: number, n: number) => Promise<Uint8Array>): Promise<string> {
  const h = newDigest();
  for (let at = off; at < off + len; at += 4 << 20) h.update(await read(at, Math.min(4 << 20, off + len - at)));
  return h.digest('hex');
}

const ref = reference();
const vm = ref.available ? await dmVmBoots() : ref;
const nbdcopy = await run('sh', ['-c', 'command -v nbdcopy']).then(() => true, () => false);
const requirement = {
  name: 'dm-vm, the reference dmraid and nbdcopy',
  available: vm.available && nbdcopy,
  reason: !vm.available ? vm.reason : 'nbdcopy is missing (apt-get install -y libnbd-bin)',
};
const vmIt = testIf(it, requirement);

const formats = [...new Set((await listTestbedSets(testbedDir)).map((s) => s.format))];

/** Our bytes for a case: window → sha256, through the engine, an extracted file and nbdcopy. */
async function ours(c: Case, dir: string): Promise<{ hashes: Map<string, string>; sizes: Map<string, number>; problems: string[] }> {
  const hashes = new Map<string, string>();
  const sizes = new Map<string, number>();
  const problems: string[] = [];
  // Members as the CLI reads them: by path, pread/preadv into the engine's buffers.
  const opened: WritableDevice[] = [];
  const byPath = new Map<string, Source>();
  const files: { close(): void }[] = [];
  for (const m of c.members) {
    const d = await openDevice(m.path);
    if (isIoError(d)) throw new Error(d.message);
    opened.push(d);
    const f = fileSource(m.path, d.sizeSectors);
    files.push(f);
    byPath.set(m.path, f);
  }
  try {
    const engine = createEngine(c.tables, (p) => byPath.get(p));
    if (isTableError(engine)) {
      // Agreement only if the kernel refuses the same table: checked against the VM's FAIL lines.
      for (const top of c.tops) refused.set(`${c.id} ${top}`, `${engine.device}: ${engine.message}`);
      return { hashes, sizes, problems };
    }
    for (const top of c.tops) {
      const dev = engine.get(top)!;
      const bytes = dev.sizeSectors * 512;
      sizes.set(`${c.id} ${top}`, bytes);
      const file = join(dir, `${top}.extract`);
      const copied = join(dir, `${top}.nbdcopy`);
      const r = await extract(dev, file);
      if (isIoError(r)) problems.push(`${c.id}: extract: ${r.message}`);
      const server = new NbdServer({ exports: [{ name: top, source: dev }] });
      const sock = join(dir, 'nbd.sock');
      await server.listen(sock);
      try {
        await run('nbdcopy', [`nbd+unix:///${top}?socket=${sock}`, copied]);
      } catch (e) {
        problems.push(`${c.id}: nbdcopy: ${(e as Error).message}`);
      } finally {
        await server.close();
        await fs.rm(sock, { force: true });
      }
      // The engine's bytes of each span; then each output, opened once, against them.
      const engineHashes: [number, number, string][] = [];
      for (const [off, len] of windows(bytes)) {
        const h = await hashSpan(off, len, async (at, n) => {
          const r = await dev.read(at / 512, n / 512);
          if (isIoError(r)) throw new Error(`${c.id}: ${top} read at ${at}: ${r.message}`);
          return r;
        }).catch((e: Error) => (problems.push(e.message), undefined));
        if (h === undefined) continue;
        hashes.set(`${c.id} ${top} ${off}`, h);
        engineHashes.push([off, len, h]);
      }
      for (const [what, path] of [['extract', file], ['nbdcopy', copied]] as const) {
        const fh = await fs.open(path, 'r').catch((e: Error) => (problems.push(`${c.id}: ${top}: no ${what} output: ${e.message}`), undefined));
        if (!fh) continue;
        try {
          const { size } = await fh.stat();
          if (size !== bytes) problems.push(`${c.id}: ${top}: ${what} output of ${size} bytes, the volume has ${bytes}`);
          for (const [off, len, h] of engineHashes) {
            const theirs = await hashSpan(off, len, async (at, n) => {
              const buf = new Uint8Array(n);
              const { bytesRead } = await fh.read(buf, 0, n, at);
              return buf.subarray(0, bytesRead);
            });
            if (theirs !== h) problems.push(`${c.id}: ${top}: ${what} differs from the engine in [${off}, ${off + len})`);
          }
        } finally {
          await fh.close();
        }
      }
      await fs.rm(file, { force: true });
      await fs.rm(copied, { force: true });
    }
    engine.destroy();
  } finally {
    for (const f of files) f.close();
    await Promise.all(opened.map((d) => d.close()));
  }
  return { hashes, sizes, problems };
}

describe('the engine against the kernel on every testbed layout', () => {
  for (const format of formats) {
    vmIt(`${format}: extract, nbdcopy and engine reads equal /dev/mapper in the VM, healthy and one member missing`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `engine-kernel-${format}-`));
      try {
        const cases: Case[] = [];
        for (const set of await listTestbedSets(testbedDir, format)) {
          const members = await buildPatternedMembers(set, join(dir, set.config));
          const tables = await referenceTables(members);
          if (tables.length === 0) continue;
          const tops = topLevel(tables);
          cases.push({ id: `${format}/${set.config}`, members, tables, tops });
          for (const m of members) {
            const degraded = withoutMember(tables, m.path);
            if (degraded) cases.push({ id: `${format}/${set.config}/-${m.path.split('/').pop()}`, members, tables: degraded, tops: topLevel(degraded) });
          }
        }
        const sizes = new Map<string, number>();
        const compared: string[] = [];
        const ourHashes = new Map<string, string>();
        const problems: string[] = [];
        for (const c of cases) {
          const r = await ours(c, dir);
          for (const [k, v] of r.sizes) sizes.set(k, v);
          for (const [k, v] of r.hashes) ourHashes.set(k, v);
          problems.push(...r.problems);
        }
        const kernel = await kernelHashes(cases, sizes);
        for (const [key, why] of refused) {
          if (!key.startsWith(`${format}/`)) continue;
          const id = key.split(' ')[0]!;
          if ([...kernel.keys()].some((k) => k.startsWith(`${id} `) && k.endsWith(' fail'))) compared.push(`${key} (both refuse)`);
          else problems.push(`${key}: the engine refused the table (${why}), the kernel took it`);
        }
        for (const [key, h] of ourHashes) {
          const [id, top] = key.split(' ');
          if (kernel.has(`${id} ${top} fail`)) {
            problems.push(`${id}: the kernel refused the table of ${top}`);
            continue;
          }
          const k = kernel.get(key);
          if (k === undefined) problems.push(`${key}: no hash from the VM`);
          else if (k !== h) problems.push(`${key}: engine ${h.slice(0, 12)} kernel ${k.slice(0, 12)}`);
          else compared.push(key);
          const size = kernel.get(`${id} ${top} size`);
          if (size !== undefined && Number(size) !== sizes.get(`${id} ${top}`)) problems.push(`${id} ${top}: size ${sizes.get(`${id} ${top}`)} vs kernel ${size}`);
        }
        for (const [k, v] of kernel) if (k.startsWith('batch-error')) problems.push(`${k}: ${v}`);
        console.log(`${format}: ${cases.length} cases, ${compared.length} spans equal to the kernel's`);
        expect(problems).toEqual([]);
        if (inCI) expect(compared.length).toBeGreaterThan(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 1_800_000);
  }
});
