export { run, type RunOptions } from './main.js';
export { cliVersion, type Io } from './context.js';
export { argumentName, OPTIONS, parseOptions, UsageError, type OptionRow, type Options } from './options.js';
export { loadHandlers, isHandlerPackageName, type LoadedHandler } from '@dmraid/core';
export { main, processIo } from './process.js';
