export { inferGeometry, MAX_SAMPLE_BYTES, type Candidate, type InferOptions, type InferResult } from './infer.js';
export { dmType, geometryTables, type Geometry, type InferLevel, type Raid5Layout } from './geometry.js';
