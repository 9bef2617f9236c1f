/** The deployment bundle: segments cut from a multi-exit model, its manifest, and its folder IO. */
export { toBundleSegments, type BundleSegment, type BundleSegments } from './segments.ts';
export { makeManifest, parseManifest, checkSegmentModel, stageFile, exitFile, type ManifestInfo } from './manifest.ts';
export { saveBundle, loadBundle, readManifest, updateManifest, MANIFEST_FILE, type Bundle, type SaveBundleOptions } from './io.ts';
export {
  BUNDLE_FORMAT, BUNDLE_VERSION, BundleManifestSchema, type BundleManifest, type BundleManifestInput, type BundleStage, type BundleExit,
  type BundleInput, type Preprocessing, type BundleSplit, BundleSplitSchema,
} from '../schemas/bundle.ts';
export { saveMultiExitBundle } from './from-model.ts';
export { bundleSplitData, preprocessingOf, normalizationOf, DEFAULT_SPLIT, SPLIT_NAMES, type SplitName, type BundleData } from './data.ts';
export { exportSubnet, SUBNET_OUTPUT } from './subnet.ts';
export { ExportReportSchema, type ExportReport } from '../schemas/export.ts';
