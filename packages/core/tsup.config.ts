import { packageConfig } from '../../config/tsup.base.js';
import { writeValidators } from './schema-validators.js';

// The schema validators are compiled here, before the bundle, so the bundle holds their generated code.
writeValidators();

export default packageConfig({ entry: ['src/index.ts', 'src/testbed.ts'] });
