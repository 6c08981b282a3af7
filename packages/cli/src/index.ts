export { run, type RunOptions } from './main.js';
export { cliVersion, type Io } from './context.js';
export { parseOptions, UsageError, type Options } from './options.js';
export { loadHandlers, isHandlerPackageName, type LoadedHandler } from '@dmraid/core';
export { main, processIo } from './process.js';
