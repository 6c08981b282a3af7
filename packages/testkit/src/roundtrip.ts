/**
 * Round-trip: what a handler reads it writes back byte-identically, and write → read → write is stable.
 */
import { bufferLog, readContext, sparseDevice, type FormatHandler, type WritableDevice } from '@dmraid/core';
import { diskFromSeed, type SeedDisk } from './fuzz.js';

async function writeBack(handler: FormatHandler, from: WritableDevice, to: WritableDevice): Promise<void> {
  const { log, lines } = bufferLog();
  const rds = await handler.read(from, readContext(handler.name, log));
  if (rds.length === 0) throw new Error(`${handler.name} did not recognise ${from.path}: ${lines.map((l) => l.text).join('; ')}`);
  const ctx = { format: handler.name, log, error: (t: string) => log('error', t), openWritable: async () => to };
  for (const rd of rds.filter((r) => !r.volumeOf)) {
    if (!handler.write) throw new Error(`${handler.name} has no write`);
    if (!(await handler.write(rd, to, ctx, false))) throw new Error(`${handler.name} write failed: ${lines.map((l) => l.text).join('; ')}`);
  }
}

/** Bytes of every seed area as found on a device. */
async function areaBytes(dev: WritableDevice, seed: SeedDisk): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const a of seed.areas) {
    const b = await dev.read(a.offsetBytes, a.data.length);
    if (!(b instanceof Uint8Array)) throw new Error(`reading back ${dev.path}: ${b.message}`);
    out.push(b);
  }
  return out;
}

/**
 * For each seed disk: read, write to an empty disk of the same size, compare the metadata areas with the
 * original; read that copy, write again, compare again. Throws with the first difference.
 */
export async function roundTrip(handler: FormatHandler, seeds: readonly SeedDisk[]): Promise<number> {
  let checked = 0;
  for (const [i, seed] of seeds.entries()) {
    const original = await diskFromSeed(`/dev/rt${i}`, seed);
    const copy = sparseDevice(`/dev/rt${i}`, seed.sizeSectors, seed.serial);
    await writeBack(handler, original, copy);
    const second = sparseDevice(`/dev/rt${i}`, seed.sizeSectors, seed.serial);
    await writeBack(handler, copy, second);
    const want = seed.areas.map((a) => a.data);
    for (const [label, dev] of [['write', copy], ['write → read → write', second]] as const) {
      const got = await areaBytes(dev, seed);
      got.forEach((g, k) => {
        const w = want[k]!;
        const at = g.findIndex((b, j) => b !== w[j]);
        if (at >= 0) throw new Error(`${handler.name} seed ${i} area ${k}: ${label} differs at byte ${at}: ${g[at]} != ${w[at]}`);
      });
    }
    checked++;
  }
  return checked;
}
