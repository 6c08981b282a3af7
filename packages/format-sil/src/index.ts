import { sil } from './handler.js';
export * from './layout.js';
export { areaSector, setName, type SilCopy, type SilMeta } from './handler.js';
export * from './writer.js';
export default sil;
