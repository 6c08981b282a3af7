// The jmicron handler against the reference dmraid, through the published interface only.
import { promises as fs } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildTestbedSet, formatTester, installedHandlers, testbedDir } from '@dmraid/testkit';
import jmicron, { buildJmSet, jmChecksum, jmLayout, memberIndex } from '../src/index.js';
import { testbedSets } from '../src/testbed.js';

const pkg = JSON.parse(await fs.readFile(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
/** The installed handlers plus this one, in the CLI's order (by format name), as if installed beside them. */
const handlers = [...(await installedHandlers()).filter((h) => h.handler.name !== jmicron.name), { handler: jmicron, packageName: pkg.name, version: pkg.version }].sort((a, b) =>
  a.handler.name < b.handler.name ? -1 : 1,
);

const seeds = testbedSets()
  .map(buildTestbedSet)
  .filter((s) => !s.config.includes('degraded'))
  .map((s) => s.members.map((m) => ({ sizeSectors: m.sizeSectors, serial: m.serial, areas: m.areas })));

formatTester.run(jmicron, {
  seeds,
  handlers,
  // The testkit looks for testbed folders under the repository's testbed/: this package keeps its own.
  testbed: relative(testbedDir, fileURLToPath(new URL('../testbed/jmicron', import.meta.url))),
  fixtures: [{ file: 'jmicron-raid.img.xz' }],
});

describe('jmicron layout', () => {
  it('places the fields where jm.h puts them (the inner segment struct keeps its tail padding)', () => {
    expect(jmLayout.size).toBe(0x80);
    expect(jmLayout.offsetOf('version')).toBe(0x02);
    expect(jmLayout.offsetOf('name')).toBe(0x20);
    expect(jmLayout.offsetOf('mode')).toBe(0x30);
    expect(jmLayout.offsetOf('member')).toBe(0x40);
  });

  it('writes blocks whose 16-bit words sum to zero', () => {
    for (const m of buildJmSet({ level: 'raid01', label: 'x', disks: 4, diskSectors: 4096 })) expect(jmChecksum(m.data)).toBe(0);
  });

  it('finds a disk in the member table by its disk id, ignoring the segment nibble', () => {
    const jm = jmLayout.zero();
    jm.identity = 0x1234567f;
    jm.member = [0x11111110, 0x12345670, 0, 0, 0, 0, 0, 0];
    expect(memberIndex(jm)).toBe(1);
    jm.identity = 0x99999990;
    expect(memberIndex(jm)).toBe(-1);
  });
});
