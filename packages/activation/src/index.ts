export { dmDevice, type ActivationPlan, type DmDevice } from './plan.js';
export { parseTestTables } from './parse.js';
export { planActivation, tableLines, type PlanOptions, type PlanResult } from './planner.js';
export { setTable, regionSize, validRd, validRs, ERROR_PATH, mapperPath, type Problem, type SetTable, type TableOptions } from './tables.js';
export { readPartitions, partitionDevices, partitionName, type Partition, type VolumeReader } from './partitions.js';
export { KernelActivator, execDmsetup, type DmsetupRunner, type DmsetupResult, type ActivateReport } from './kernel.js';
export { acquireLock, LOCK_FILE, type Lock } from './lock.js';
