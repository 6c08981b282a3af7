import { packageConfig } from '../../config/tsup.base.js';
export default packageConfig({ entry: ['src/index.ts', 'src/testbed.ts'] });
