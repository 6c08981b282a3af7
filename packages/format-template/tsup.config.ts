import { packageConfig } from '../../tools/tsup.base.js';
export default packageConfig();
