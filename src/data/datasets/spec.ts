/** What a dataset module declares: its metadata and, in order, where its files may come from. */
import type { PixelStats } from '../dataset.ts';
import type { DataSource, LocateOptions } from '../locate.ts';

/** One entry of the dataset registry. */
export interface DatasetSpec {
  /** The registry key, e.g. `fashion-mnist`. */
  name: string;
  description: string;
  classes: string[];
  /** `[C, H, W]` of one image. */
  inputShape: [number, number, number];
  /** Mean and std of the training pixels in [0, 1] (tests recompute them from the files). */
  pixelStats: PixelStats;
  /** The places to look for the IDX files, in the order they are tried. */
  sources(options: LocateOptions): DataSource[];
}
