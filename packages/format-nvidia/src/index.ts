import { nvidia } from './handler.js';
export * from './layout.js';
export { dataWidth, expectedDevices, setName, status } from './handler.js';
export * from './writer.js';
export { isRedundant, recordFailure, recordsFailure } from './failed.js';
export default nvidia;
