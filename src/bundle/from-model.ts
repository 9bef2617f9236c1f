/** Writing a multi-exit model as a bundle: cut into segments, described by a manifest, saved atomically. */
import type { MultiExitModel } from '../exits/attach.ts';
import type { BundleManifest } from '../schemas/bundle.ts';
import { saveBundle, type SaveBundleOptions } from './io.ts';
import { makeManifest, type ManifestInfo } from './manifest.ts';
import { toBundleSegments } from './segments.ts';

/**
 * Cuts `multiExit` into stages and exits and saves them with their manifest in `dir`.
 *
 * @example
 * const manifest = saveMultiExitBundle('runs/fashion/model.exitwise', multiExit, {
 *   classes: dataset.classes, preprocessing: preprocessingOf(dataset.pixelStats),
 *   provenance: { dataset: 'fashion-mnist', strategy: 'e2e', split: { valFraction: 0.1, seed: 0, limit: null } },
 * });
 */
export function saveMultiExitBundle(dir: string, multiExit: MultiExitModel, info: ManifestInfo, options: SaveBundleOptions = {}): BundleManifest {
  const segments = toBundleSegments(multiExit);
  const manifest = makeManifest(segments, info);
  saveBundle(dir, { manifest, stages: segments.stages.map((s) => s.model), exits: segments.exits.map((e) => e.model) }, options);
  return manifest;
}
