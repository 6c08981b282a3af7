import { ddf1 } from './handler.js';
export * from './layout.js';
export { crc32, tableCrc } from './checksum.js';
export { readDdf1, encodeTables, updateCrcs, crcStyleOf, metadataAreas, crcMismatches, type Ddf1, type Table, type VdConfig, type SpareRecord } from './metadata.js';
export { vdName, volumeType, raid6Layout, diskStatus, DDF1_DISKS } from './volumes.js';
export { type Ddf1Meta } from './handler.js';
export { planCreate } from './create.js';
export * from './writer.js';
export default ddf1;
