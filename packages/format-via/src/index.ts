import { via } from './handler.js';
export * from './layout.js';
export { expectedDevices, setName } from './handler.js';
export * from './writer.js';
export default via;
