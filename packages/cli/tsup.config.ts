import { packageConfig } from '../../config/tsup.base.js';
// The CLI is bundled (fast start-up); commands beyond display are split into chunks loaded when used;
// @dmraid/core and the handlers stay external packages.
export default packageConfig({ entry: ['src/index.ts', 'src/bin.ts'], splitting: true });
