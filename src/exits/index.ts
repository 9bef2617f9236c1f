/** Early exits: placement on a backbone, head templates, the multi-exit model and its joint loss. */
export { placeExits, exitCandidates, MIN_EXIT_SAVING, type PlacementSpec, type ExitPlacement, type ExitCandidate } from './placement.ts';
export { backboneInfo, type BackboneRef, type BackboneInfo } from './backbone.ts';
export { HEAD_TEMPLATES, HeadConfigSchema, buildHead, headTemplate, parseHeadConfig, type HeadConfig, type HeadKind, type HeadFeature, type BuildHeadOptions } from './heads/registry.ts';
export type { HeadTemplate, HeadBuildContext } from './heads/types.ts';
export { planHeads, headCost, DEFAULT_HEAD, DEFAULT_HEAD_BUDGET, type HeadCost, type HeadPlan, type PlannedHead, type PlanHeadsOptions } from './heads/plan.ts';
export { attachExits, type AttachOptions, type MultiExitModel } from './attach.ts';
export { addJointLoss, type JointLossOptions, type JointLossModel } from './joint-loss.ts';
export { addDistillationLoss, type DistillationOptions, type DistillationLossModel, type DistillTeacher } from './distill-loss.ts';
