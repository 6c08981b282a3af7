import { packageConfig } from '../../tools/tsup.base.js';
// The CLI is bundled (fast start-up); @dmraid/core and the handlers stay external packages.
export default packageConfig({ entry: ['src/index.ts', 'src/bin.ts'] });
