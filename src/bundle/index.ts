/** The deployment bundle: segments cut from a multi-exit model, its manifest, and its folder IO. */
export { toBundleSegments, type BundleSegment, type BundleSegments } from './segments.ts';
export { makeManifest, parseManifest, checkSegmentModel, stageFile, exitFile, type ManifestInfo } from './manifest.ts';
export { saveBundle, loadBundle, readManifest, MANIFEST_FILE, type Bundle, type SaveBundleOptions } from './io.ts';
export {
  BUNDLE_FORMAT, BUNDLE_VERSION, BundleManifestSchema, type BundleManifest, type BundleManifestInput, type BundleStage, type BundleExit,
  type BundleInput, type Preprocessing,
} from '../schemas/bundle.ts';
