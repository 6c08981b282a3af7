import { formatTester } from '@dmraid/testkit';
import isw, { largeTestbedSets, testbedSets } from '../src/index.js';

const seeds = [...testbedSets(), ...largeTestbedSets()].map((s) => s.members.map((m) => ({ sizeSectors: m.sizeSectors, serial: m.serial, areas: m.areas })));

formatTester.run(isw, {
  seeds,
  fixtures: [{ file: 'isw-raid.img.xz', serial: 'Y25VXYQE' }],
});
