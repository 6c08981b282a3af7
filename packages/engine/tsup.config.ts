import { packageConfig } from '../../config/tsup.base.js';
// nbd-worker.js is the entry of the serving processes that NbdWorkers forks.
export default packageConfig({ entry: ['src/index.ts', 'src/nbd-worker.ts'] });
