import { jmicron } from './handler.js';
export * from './layout.js';
export { memberIndex, setName, type JmMeta } from './handler.js';
export * from './writer.js';
export default jmicron;
