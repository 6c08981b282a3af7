import { buildTestbedSet, formatTester } from '@dmraid/testkit';
import isw from '../src/index.js';
import { largeTestbedSets, testbedSets } from '../src/testbed.js';

const seeds = [...testbedSets(), ...largeTestbedSets()].map(buildTestbedSet).map((s) => s.members.map((m) => ({ sizeSectors: m.sizeSectors, serial: m.serial, areas: m.areas })));

formatTester.run(isw, {
  seeds,
  fixtures: [{ file: 'isw-raid.img.xz', serial: 'Y25VXYQE' }],
});
