import { pdc } from './handler.js';
export * from './layout.js';
export { setName, type PdcMeta, type PdcDiskMemory } from './handler.js';
export * from './writer.js';
export default pdc;
