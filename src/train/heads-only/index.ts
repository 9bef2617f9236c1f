/**
 * Exits-only training: early-exit heads trained on a frozen backbone from features cached once,
 * with labels or the final exit's pseudo-labels, optionally distilling from a teacher exit; and
 * personalisation of a bundle's exits on one user's unlabelled images.
 */
export { trainHeadsOnly, pseudoLabels, type HeadsOnlyOptions, type HeadsOnlyResult, type HeadsOnlyExit } from './heads-only.ts';
export { HEADS_ONLY_DEFAULTS, resolveHeadsOnlyConfig, type HeadsOnlyConfig, type ResolvedHeadsOnlyConfig, type HeadTargets, type HeadDistillation } from './config.ts';
export { cacheExitFeatures, planCachePasses, featureBytesPerSample, type HeadsOnlyData, type CachedFeatures, type CacheOptions } from './features.ts';
export { extractHead, type HeadModel } from './head.ts';
export { scoreExits, exitLogitsOn, type ExitScore } from './evaluate.ts';
export { checkModelFits, placeAuto, DEFAULT_AUTO_EXITS, type ModelFit } from './model-fit.ts';
export { multiExitFromBundle } from './from-bundle.ts';
export { readUserImages, type UserImages, type ImageLayout } from './user-images.ts';
export {
  personaliseBundle, savePersonalisedBundle, DEFAULT_USER_VAL_FRACTION, type UserData, type PersonaliseConfig, type PersonaliseResult, type BeforeAfter,
} from './personalise.ts';
export { createHeadsOnlyProgressPrinter, type HeadsOnlyEvent, type HeadsEpochRecord } from './progress.ts';
