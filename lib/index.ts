// The library (`import ... from 'pseudolabel'`): the estimators on arrays and the pipeline as a function.
// README.md, "Library", shows them; dist/index.mjs is this module bundled (scripts/build.mjs).
export type { LabelSpreadingParams } from './algorithms/labelSpreading.ts';
export type { BasePropagationParams as LabelPropagationParams } from './algorithms/propagation.ts';
export type { SelfTrainingOptions } from './algorithms/selfTraining.ts';
export {
  ArrayEstimator,
  type Labels,
  labelPropagation,
  labelSpreading,
  type Rows,
  selfTraining,
} from './api/estimators.ts';
export { type RunRequest, run } from './api/run.ts';
export type { RunReport } from './pipeline/outputs/runReport.ts';
