/**
 * Exits-only training: early-exit heads trained on a frozen backbone from features cached once,
 * with labels or the final exit's pseudo-labels, optionally distilling from a teacher exit.
 */
export { trainHeadsOnly, pseudoLabels, type HeadsOnlyOptions, type HeadsOnlyResult, type HeadsOnlyExit } from './heads-only.ts';
export { HEADS_ONLY_DEFAULTS, resolveHeadsOnlyConfig, type HeadsOnlyConfig, type ResolvedHeadsOnlyConfig, type HeadTargets, type HeadDistillation } from './config.ts';
export { cacheExitFeatures, planCachePasses, featureBytesPerSample, type HeadsOnlyData, type CachedFeatures, type CacheOptions } from './features.ts';
export { extractHead, type HeadModel } from './head.ts';
export { createHeadsOnlyProgressPrinter, type HeadsOnlyEvent, type HeadsEpochRecord } from './progress.ts';
