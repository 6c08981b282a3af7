import { mergeConfig } from 'vitest/config';
import base from '../../vitest.shared.js';
export default mergeConfig(base, { test: { name: 'create-format' } });
