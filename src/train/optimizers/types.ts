/**
 * Public types of the optimizers: their JSON configs, the interface the trainer drives, and the
 * state a checkpoint holds. Defaults live with each optimizer (sgd.ts, adamw.ts).
 */

/**
 * Stochastic gradient descent with PyTorch's `torch.optim.SGD` semantics: with weight decay λ,
 * momentum μ and dampening τ, each step takes `d = g + λ·p`; `buf = d` on the first step and
 * `buf = μ·buf + (1 − τ)·d` after; then `d = buf`, or `d + μ·buf` with Nesterov; `p −= lr·d`.
 */
export interface SgdConfig {
  kind: 'sgd';
  /** μ (default 0: plain SGD). */
  momentum?: number;
  /** τ (default 0). */
  dampening?: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0 (default false). */
  nesterov?: boolean;
  /** λ, coupled: added to the gradient, for parameters whose `decay` is true (default 0). */
  weightDecay?: number;
}

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter 2019) with PyTorch's `torch.optim.AdamW`
 * semantics: `p ·= 1 − lr·λ` (decaying parameters only); `m = β1·m + (1 − β1)·g`;
 * `v = β2·v + (1 − β2)·g²`; `p −= lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε)`.
 */
export interface AdamWConfig {
  kind: 'adamw';
  /** β1 (default 0.9). */
  beta1?: number;
  /** β2 (default 0.999). */
  beta2?: number;
  /** ε, added outside the square root as PyTorch does (default 1e-8). */
  eps?: number;
  /** λ, decoupled (default 0.01). */
  weightDecay?: number;
}

/** Any optimizer config: JSON, told apart by `kind`. */
export type OptimizerConfig = SgdConfig | AdamWConfig;
export type OptimizerKind = OptimizerConfig['kind'];

/** A config with every default filled in. */
export type Resolved<C> = { [K in keyof C]-?: Exclude<C[K], undefined> };

/**
 * An optimizer's state: everything a resumed run needs to continue exactly. `slots` maps a slot
 * (`momentum`; `expAvg`, `expAvgSq`) to one buffer per trainable parameter, by parameter name.
 */
export interface OptimizerState {
  kind: OptimizerKind;
  /** Steps taken. */
  step: number;
  slots: Record<string, Record<string, Float32Array>>;
}

/**
 * Updates the store's trainable parameters in place from their gradients.
 *
 * @example
 * const optimizer = createOptimizer({ kind: 'sgd', momentum: 0.9, weightDecay: 5e-4 }, store);
 * optimizer.step(grads, schedule.lr(optimizer.stepCount));
 */
export interface Optimizer {
  /** The resolved config (every default filled in). */
  readonly config: Resolved<OptimizerConfig>;
  /** Steps taken so far (0 before the first): the schedule step of the next update. */
  readonly stepCount: number;
  /**
   * One update with learning rate `lr`. `grads` maps every trainable parameter's name to its
   * gradient (same length) and holds nothing else. Allocates nothing.
   */
  step(grads: ReadonlyMap<string, Float32Array>, lr: number): void;
  /** A copy of the state, for a checkpoint. */
  state(): OptimizerState;
  /** Continues from a saved state; `EXW_CHECKPOINT` when it belongs to another optimizer or model. */
  loadState(state: OptimizerState): void;
}
