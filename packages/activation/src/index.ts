export type { ActivationPlan, DmDevice } from './plan.js';
