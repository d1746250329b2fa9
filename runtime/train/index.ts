// Public surface of runtime/train: optimizers, schedules, checkpoints, the generic loop, rounds.

export type { NamedTensors, ReadonlyNamedTensors } from './tensors.ts';
export { AdamW, Sgd, type AdamWOptions, type SgdOptions, type Optimizer, type OptimizerKind, type OptimizerState } from './optimizers.ts';
export { clipGlobalNorm, globalNorm, GradAccumulator } from './gradients.ts';
export { Ema } from './ema.ts';
export { constant, cosineWeight, linear, makeSchedule, ramp, twoPhase, warmupCosine, type Schedule, type ScheduleSpec } from './schedules.ts';
export {
  CheckpointError,
  checkpointPath,
  latestCheckpoint,
  listCheckpoints,
  NothingToResume,
  readCheckpoint,
  scanCheckpoints,
  writeCheckpoint,
  type Checkpoint,
} from './checkpoint.ts';
export { acquireRunLock, LOCK_FILE, RunLocked, type RunLock } from './run-lock.ts';
export {
  train,
  TrainingDiverged,
  type ResidentUpdates,
  type StepResult,
  type Stateful,
  type TrainOptions,
  type TrainResult,
  type UpdateOutcome,
} from './loop.ts';
export { formatProgress, formatWork, PROGRESS_AFTER_MS, ProgressLine, WorkProgress, type ProgressInfo, type ProgressStream } from './progress.ts';
export { removeStaleTemps, writeAtomic, type MetricRecord, type RunSummary } from './run-files.ts';
export { batchProbabilities, sampleBatches, sampleCount, type RoundSampleOptions } from './rounds.ts';
