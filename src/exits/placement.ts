/**
 * Exit placement: where along a backbone the exits attach, measured in FLOPs rather than layers.
 * Exits attach only at cut points (`findCutPoints`), so each exit sees everything the rest of the
 * backbone sees and the backbone splits into stages there with nothing else crossing.
 */
import { ExitwiseError } from '../errors.ts';
import { analyzeCost, type CostReport, DATA_MOVEMENT_OPS, PER_OUTPUT_ELEMENT_OPS } from '../onnx/cost/index.ts';
import type { ModelProto } from '../onnx/proto/onnx_pb.ts';
import { inferShapesStatic } from '../onnx/shapes/index.ts';
import type { Dim } from '../onnx/shapes/types.ts';
import { findCutPoints } from '../onnx/surgery/cut-points.ts';
import { DataType } from '../onnx/tensor-data.ts';

/**
 * An exit that would save less than this fraction of the backbone's FLOPs over the final exit is
 * not worth its head: automatic placement (by fractions or count) never picks it.
 */
export const MIN_EXIT_SAVING = 0.01;

/** How to place exits. */
export type PlacementSpec =
  /** Nearest cut points to these fractions of the backbone's FLOPs, each in (0, 1). */
  | { by: 'fractions'; fractions: readonly number[] }
  /** `count` exits at FLOPs fractions 1/(count+1), 2/(count+1), …: equidistant in FLOPs. */
  | { by: 'count'; count: number }
  /** Exactly these tensors, which must be cut points. */
  | { by: 'tensors'; tensors: readonly string[] };

/** A cut point where an exit can attach. */
export interface ExitCandidate {
  tensor: string;
  /** Per-sample FLOPs needed to compute the tensor. */
  cumulativeFlops: number;
  /** `cumulativeFlops` over the backbone's total FLOPs. */
  fraction: number;
  /** `[N, C, H, W]` or `[N, D]`, batch symbolic. */
  shape: Dim[];
}

/** A chosen exit position. */
export interface ExitPlacement extends ExitCandidate {
  /** The FLOPs fraction asked for (placement by fractions or count). */
  target?: number;
}

/**
 * The cut points of `backbone` where exits can attach, in graph order: every cut point except
 * the last, which is where the backbone's own classifier starts (the final exit's input), and
 * except tensors that are not float of rank 2 or 4 (heads read `[N, C, H, W]` or `[N, D]`).
 */
export function exitCandidates(backbone: ModelProto): ExitCandidate[] {
  return analyzeCandidates(backbone).candidates;
}

function analyzeCandidates(backbone: ModelProto): { candidates: ExitCandidate[]; cost: CostReport } {
  const cuts = findCutPoints(backbone);
  const shapes = inferShapesStatic(backbone).shapes;
  const cost = analyzeCost(backbone, { shapes });
  const total = cost.totalFlops;
  const candidates = cuts.slice(0, -1).flatMap((tensor) => {
    const s = shapes.get(tensor);
    if (s === undefined || s.dims === 'unknown' || (s.dims.length !== 2 && s.dims.length !== 4) || s.dataType !== DataType.FLOAT) return [];
    const cumulativeFlops = cost.cumulativeFlops(tensor);
    return [{ tensor, cumulativeFlops, fraction: total > 0 ? cumulativeFlops / total : 0, shape: s.dims }];
  });
  return { candidates, cost };
}

/**
 * Chooses exit positions on a backbone (built here or imported).
 *
 * By fractions or count, targets are matched to distinct cut points in graph order so that the
 * total distance |fraction − target| is smallest. Cut points one elementwise step apart (a
 * block's Add and the ReLU after it, a conv and its BatchNorm) count as one position, represented
 * by the last of them: exits read block outputs, not pre-activations. Positions saving less than
 * `MIN_EXIT_SAVING` over the final exit are left out.
 *
 * Errors: `EXW_USAGE` for fractions outside (0, 1), a count below 1 or repeated entries;
 * `EXW_SURGERY` for a tensor that is not a cut point (naming the nearest ones) or more exits than
 * positions.
 *
 * @example
 * placeExits(loadModel('examples/resnet-mnist.onnx'), { by: 'fractions', fractions: [0.25, 0.5, 0.75] });
 * // [{ tensor: '/layers/layers.0/Relu_1_output_0', fraction: 0.185, … }, …]
 */
export function placeExits(backbone: ModelProto, spec: PlacementSpec): ExitPlacement[] {
  const { candidates, cost } = analyzeCandidates(backbone);
  switch (spec.by) {
    case 'tensors':
      return byTensors(backbone, cost, candidates, spec.tensors);
    case 'count': {
      if (!Number.isInteger(spec.count) || spec.count < 1) throw usage(`exit count ${spec.count} is not a positive integer`, 'Ask for 1 or more exits.');
      return byTargets(cost, candidates, Array.from({ length: spec.count }, (_, i) => (i + 1) / (spec.count + 1)));
    }
    case 'fractions': {
      const bad = spec.fractions.find((f) => !(f > 0 && f < 1));
      if (bad !== undefined) throw usage(`FLOPs fraction ${bad} is outside (0, 1)`, 'Give fractions of the backbone FLOPs strictly between 0 and 1, e.g. 0.25, 0.5, 0.75.');
      if (spec.fractions.length === 0) throw usage('no FLOPs fractions given', 'Give at least one fraction, e.g. 0.5.');
      if (new Set(spec.fractions).size !== spec.fractions.length) throw usage('a FLOPs fraction is repeated', 'List each fraction once.');
      return byTargets(cost, candidates, [...spec.fractions].sort((a, b) => a - b));
    }
  }
}

function byTensors(backbone: ModelProto, cost: CostReport, candidates: ExitCandidate[], tensors: readonly string[]): ExitPlacement[] {
  if (tensors.length === 0) throw usage('no exit tensors given', 'Name at least one cut point (see `exitwise inspect`).');
  const byName = new Map(candidates.map((c, i) => [c.tensor, i]));
  const chosen = tensors.map((t) => {
    const i = byName.get(t);
    if (i === undefined) throw notACandidate(backbone, cost, candidates, t);
    return i;
  });
  if (new Set(chosen).size !== chosen.length) throw usage('an exit tensor is listed twice', 'List each exit tensor once.');
  return chosen.sort((a, b) => a - b).map((i) => ({ ...candidates[i]! }));
}

function byTargets(cost: CostReport, candidates: ExitCandidate[], targets: number[]): ExitPlacement[] {
  const positions = plateaus(cost, candidates).filter((c) => c.fraction <= 1 - MIN_EXIT_SAVING);
  if (targets.length > positions.length) {
    throw new ExitwiseError('EXW_SURGERY', `${targets.length} exits asked for, but the backbone has only ${positions.length} distinct exit positions`, {
      hint: `Ask for at most ${positions.length} exits: ${positions.map((p) => `${p.tensor} (${(100 * p.fraction).toFixed(1)}%)`).join(', ')}.`,
    });
  }
  return assignInOrder(targets, positions.map((p) => p.fraction)).map((j, i) => ({ ...positions[j]!, target: targets[i]! }));
}

/**
 * Collapses runs of candidates with the same shape joined only by elementwise or data-movement
 * ops (BatchNorm, ReLU, Add, Identity…) to the last of each run.
 */
function plateaus(cost: CostReport, candidates: ExitCandidate[]): ExitCandidate[] {
  const cheap = (op: string): boolean => PER_OUTPUT_ELEMENT_OPS.has(op) || DATA_MOVEMENT_OPS.has(op);
  const kept: ExitCandidate[] = [];
  let previous: { candidate: ExitCandidate; ancestors: Set<number> } | undefined;
  for (const c of candidates) {
    const ancestors = cost.ancestorNodes(c.tensor);
    const sameShape = previous !== undefined && previous.candidate.shape.join() === c.shape.join();
    const between = [...ancestors].filter((i) => !previous?.ancestors.has(i));
    if (sameShape && between.every((i) => cheap(cost.nodes[i]!.opType))) kept.pop();
    kept.push(c);
    previous = { candidate: c, ancestors };
  }
  return kept;
}

/**
 * Indices j_1 < j_2 < … into `positions` (sorted ascending) minimising Σ |positions[j_i] − targets[i]|
 * for sorted targets: a small dynamic programme, O(targets × positions).
 */
export function assignInOrder(targets: readonly number[], positions: readonly number[]): number[] {
  const m = targets.length;
  const n = positions.length;
  // best[i][j]: least cost of placing targets[0..i] with target i at position j.
  const best = targets.map(() => new Float64Array(n).fill(Infinity));
  const from = targets.map(() => new Int32Array(n).fill(-1));
  for (let i = 0; i < m; i++) {
    let runMin = Infinity;
    let runArg = -1;
    for (let j = i; j < n; j++) {
      if (i > 0 && best[i - 1]![j - 1]! < runMin) {
        runMin = best[i - 1]![j - 1]!;
        runArg = j - 1;
      }
      const before = i === 0 ? 0 : runMin;
      best[i]![j] = before + Math.abs(positions[j]! - targets[i]!);
      from[i]![j] = runArg;
    }
  }
  let j = 0;
  for (let k = 1; k < n; k++) if (best[m - 1]![k]! < best[m - 1]![j]!) j = k;
  const chosen = new Array<number>(m);
  for (let i = m - 1; i >= 0; i--) {
    chosen[i] = j;
    j = from[i]![j]!;
  }
  return chosen;
}

function notACandidate(backbone: ModelProto, cost: CostReport, candidates: ExitCandidate[], tensor: string): ExitwiseError {
  const list = (cs: ExitCandidate[]): string => cs.map((c) => `${c.tensor} (${(100 * c.fraction).toFixed(1)}%)`).join(', ');
  if (!backbone.graph!.node.some((n) => n.output.includes(tensor))) {
    return new ExitwiseError('EXW_SURGERY', `exit tensor "${tensor}" is not computed by the backbone`, {
      hint: `Exits attach at cut points: ${list(candidates.slice(0, 12))}${candidates.length > 12 ? ', …' : ''}.`,
    });
  }
  const cuts = findCutPoints(backbone);
  const reason = tensor === cuts[cuts.length - 1] ? 'it is the input of the backbone\'s own classifier, where the final exit reads'
    : cuts.includes(tensor) ? 'exit heads read float [N, C, H, W] or [N, D] tensors'
      : 'other tensors bypass it (a skip connection or a side branch), so the backbone cannot be split there';
  const flops = cost.cumulativeFlops(tensor);
  const nearest = [...candidates].sort((a, b) => Math.abs(a.cumulativeFlops - flops) - Math.abs(b.cumulativeFlops - flops)).slice(0, 3);
  return new ExitwiseError('EXW_SURGERY', `exit tensor "${tensor}" is not an exit position: ${reason}`, {
    hint: `The nearest exit positions in FLOPs: ${list(nearest)}.`,
  });
}

function usage(message: string, hint: string): ExitwiseError {
  return new ExitwiseError('EXW_USAGE', message, { hint });
}
