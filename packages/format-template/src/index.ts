import { template } from './handler.js';
export * from './layout.js';
export { setName } from './handler.js';
export * from './writer.js';
export default template;
