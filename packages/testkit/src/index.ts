export * from './env.js';
export * from './fuzz.js';
export * from './roundtrip.js';
export * from './reference.js';
export * from './testbed.js';
export * from './tester.js';
export * from './vm.js';
export * from './model.js';
