import { pdc } from './handler.js';
export * from './layout.js';
export { setName, type PdcMeta, type PdcDiskMemory } from './handler.js';
export * from './writer.js';
export { newerGeneration, recordFailure, recordsFailure, slotOf } from './failed.js';
export default pdc;
