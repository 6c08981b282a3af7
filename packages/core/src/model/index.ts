export * from './types.js';
export * from './raid.js';
