/**
 * Head costs and the default head choice: each head's params and FLOPs as a fraction of the
 * backbone's, and a plan that keeps all heads together within a FLOPs budget by narrowing the
 * most expensive head (or falling back to `pool-linear`) until they fit, saying what it changed.
 */
import { ExitwiseError } from '../../errors.ts';
import { analyzeCost } from '../../onnx/cost/index.ts';
import type { ModelProto } from '../../onnx/proto/onnx_pb.ts';
import { type BackboneRef, backboneInfo } from '../backbone.ts';
import type { ExitPlacement } from '../placement.ts';
import { buildHead, type HeadConfig, headTemplate } from './registry.ts';

/**
 * Heads together may cost at most this fraction of the backbone's FLOPs by default: the whole
 * point of an exit is to save compute, and an input that runs to the end pays for every head.
 */
export const DEFAULT_HEAD_BUDGET = 0.05;

/**
 * The default head: a conv before the classifier lets early, not yet linearly separable features
 * be re-mixed (Kaya et al., "Shallow-Deep Networks", 2019); the budget narrows it where needed.
 */
export const DEFAULT_HEAD: HeadConfig = { kind: 'conv-pool-linear' };

/** What one head costs, per sample, absolutely and as a fraction of the backbone. */
export interface HeadCost {
  params: number;
  flops: number;
  paramsFraction: number;
  flopsFraction: number;
}

/** The cost of a head model relative to a backbone's totals (per sample, per the cost model's conventions). */
export function headCost(head: ModelProto, backbone: { totalFlops: number; totalParams: number }): HeadCost {
  const { totalFlops, totalParams } = analyzeCost(head);
  return {
    params: totalParams,
    flops: totalFlops,
    paramsFraction: backbone.totalParams > 0 ? totalParams / backbone.totalParams : 0,
    flopsFraction: backbone.totalFlops > 0 ? totalFlops / backbone.totalFlops : 0,
  };
}

export interface PlannedHead {
  /** The feature tensor it reads. */
  tensor: string;
  /** Resolved: every default filled in. */
  config: HeadConfig;
  cost: HeadCost;
}

export interface HeadPlan {
  heads: PlannedHead[];
  /** All heads together. */
  total: HeadCost;
  budget: number;
  /** Whether `total.flopsFraction <= budget` (false only when even pool-linear heads exceed it). */
  withinBudget: boolean;
  /** What the plan changed from the request and why, one line each. */
  adjustments: string[];
}

export interface PlanHeadsOptions {
  /** One config for every exit, or one per exit in placement order (default `DEFAULT_HEAD`). */
  heads?: HeadConfig | readonly HeadConfig[];
  /** Max FLOPs of all heads over the backbone's (default `DEFAULT_HEAD_BUDGET`; `Infinity` keeps heads as asked). */
  budget?: number;
}

/**
 * Chooses the heads for the placed exits. A single (or default) config that cannot read some
 * feature (a conv head on `[N, D]`) becomes `pool-linear` there; while the heads exceed the
 * budget, the most expensive one that can shrink is halved in width, else becomes `pool-linear`.
 *
 * @example
 * const plan = planHeads({ model }, placeExits(model, { by: 'count', count: 3 }));
 * plan.total.flopsFraction; // ≤ 0.05
 * plan.adjustments;         // ['exit 0: conv-pool-linear channels 16 → 8 (heads at 6.7% > 5% budget)', …]
 */
export function planHeads(backbone: BackboneRef, placements: readonly ExitPlacement[], options: PlanHeadsOptions = {}): HeadPlan {
  const info = backboneInfo(backbone);
  const totals = analyzeCost(backbone.model);
  const budget = options.budget ?? DEFAULT_HEAD_BUDGET;
  if (!(budget >= 0)) throw new ExitwiseError('EXW_USAGE', `head FLOPs budget ${budget} is not a non-negative fraction`, { hint: `Give a fraction of the backbone's FLOPs such as ${DEFAULT_HEAD_BUDGET}, or Infinity to keep the heads as asked.` });
  const requested = options.heads ?? DEFAULT_HEAD;
  const perExit = Array.isArray(requested);
  if (perExit && requested.length !== placements.length) {
    throw new ExitwiseError('EXW_USAGE', `${requested.length} head configs for ${placements.length} exits`, { hint: 'Give one head config for all exits, or one per exit.' });
  }
  const adjustments: string[] = [];
  const costOf = (config: HeadConfig, p: ExitPlacement, k: number): HeadCost =>
    headCost(buildHead(config, { name: p.tensor, dims: p.shape }, { classes: info.classes, prefix: `exit${k}/`, seed: 0, opset: info.opset }), totals);

  const heads = placements.map((p, k): PlannedHead => {
    let config = perExit ? (requested as readonly HeadConfig[])[k]! : (requested as HeadConfig);
    const refusal = headTemplate(config.kind).refuses(p.shape);
    if (refusal !== undefined && !perExit) {
      adjustments.push(`exit ${k}: pool-linear instead of ${config.kind} (${refusal})`);
      config = { kind: 'pool-linear' };
    }
    config = headTemplate(config.kind).resolve(config, p.shape);
    return { tensor: p.tensor, config, cost: costOf(config, p, k) };
  });

  const sum = (): number => heads.reduce((n, h) => n + h.cost.flops, 0);
  while (sum() > budget * totals.totalFlops) {
    const over = `heads at ${percent(sum() / totals.totalFlops)} > ${percent(budget)} budget`;
    // The most expensive head that is not already the cheapest kind.
    const k = heads.reduce((best, h, i) => (h.config.kind !== 'pool-linear' && (best < 0 || h.cost.flops > heads[best]!.cost.flops) ? i : best), -1);
    if (k < 0) {
      adjustments.push(`${over}; every head is already pool-linear`);
      break;
    }
    const head = heads[k]!;
    const shrunk = headTemplate(head.config.kind).shrink(head.config, placements[k]!.shape);
    const next = shrunk ?? { kind: 'pool-linear' as const };
    adjustments.push(`exit ${k}: ${describe(head.config)} → ${describe(next)} (${over})`);
    head.config = next;
    head.cost = costOf(next, placements[k]!, k);
  }
  const total = heads.reduce((t, h) => ({
    params: t.params + h.cost.params, flops: t.flops + h.cost.flops,
    paramsFraction: t.paramsFraction + h.cost.paramsFraction, flopsFraction: t.flopsFraction + h.cost.flopsFraction,
  }), { params: 0, flops: 0, paramsFraction: 0, flopsFraction: 0 });
  return { heads, total, budget, withinBudget: total.flopsFraction <= budget, adjustments };
}

function describe(config: HeadConfig): string {
  const { kind, ...options } = config;
  const text = Object.entries(options).map(([k, v]) => `${k} ${String(v)}`).join(', ');
  return text === '' ? kind : `${kind} ${text}`;
}

function percent(x: number): string {
  return `${(100 * x).toFixed(x < 0.1 ? 2 : 1)}%`;
}
