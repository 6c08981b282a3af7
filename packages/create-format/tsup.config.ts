import { packageConfig } from '../../config/tsup.base.js';
export default packageConfig();
