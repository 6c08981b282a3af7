export * from './types.js';
export * from './raid.js';
export * from './dm-table.js';
export * from './health.js';
