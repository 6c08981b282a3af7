export * from './struct.js';
export * from './text.js';
