/**
 * Training machinery that runs in TypeScript around the ORT training graph: the parameter store,
 * optimizers, learning-rate schedules, gradient clipping and checkpoints.
 */
export { ParamStore, defaultDecay, type ParamEntry, type ParamStoreOptions, type DecayRule, type NamedTensor, type ParamSnapshot } from './params.ts';
export { createOptimizer, resolveOptimizerConfig, OPTIMIZER_KINDS } from './optimizers/index.ts';
export type { Optimizer, OptimizerConfig, OptimizerKind, OptimizerState, SgdConfig, AdamWConfig } from './optimizers/index.ts';
export { createSchedule, resolveScheduleConfig, SCHEDULE_KINDS } from './schedules.ts';
export type { Schedule, ScheduleConfig, ScheduleKind, ScheduleOptions, ResolvedScheduleConfig, ConstantScheduleConfig, StepScheduleConfig, CosineScheduleConfig } from './schedules.ts';
export { clipGradients, clipGradNorm, clipGradValue, globalGradNorm, resolveClipConfig, type ClipConfig } from './clip.ts';
export { saveCheckpoint, loadCheckpoint, latestCheckpointPath, restoreCheckpoint, LATEST_POINTER, CHECKPOINT_FORMAT_VERSION } from './checkpoint.ts';
export type { TrainingCheckpoint, LoadedCheckpoint, JsonValue, SaveCheckpointOptions } from './checkpoint.ts';
export { train, resumeTraining } from './trainer.ts';
export * from './heads-only/index.ts';
