import { isw } from './handler.js';
export * from './layout.js';
export * from './mpb.js';
export { diskIndexBySerial, groupName, isRaid10, serialToIsw, volumeName } from './names.js';
export type { IswMeta } from './probe.js';
export * from './writer.js';
export { createSet, failedMember, makeSpare, rebuildSet, rebuiltSet, removeSet } from './ops.js';
export default isw;
