import { sil } from './handler.js';
export * from './layout.js';
export { areaSector, setName, type SilCopy, type SilMeta } from './handler.js';
export * from './writer.js';
export { newerIncarnation, recordFailure } from './failed.js';
export default sil;
