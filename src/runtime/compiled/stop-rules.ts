/**
 * Exit policies as ONNX nodes: from exit k's logits `[m, classes]` to a bool `[m]` that is true
 * where the policy stops the input, so the decision happens inside ONNX Runtime and an `If` can
 * skip the rest of the network. Registered by policy kind; kinds with per-input memory
 * (patience), fitted models (learned, class-means) are not compiled and run over segments.
 *
 * The graph computes in float32 where the policies (src/exits/policies) compute in float64: an
 * input whose score lies within float32 rounding of its threshold may be decided differently.
 */
import type { PolicyKind, ThresholdPolicy } from '../../exits/policies/policy.ts';
import type { NodeEmitter } from './emitter.ts';

export interface StopRule {
  kind: PolicyKind;
  /** Adds the nodes deciding exit `exit` for `logits` (divided by the exit's temperature already when `tempered`); returns the bool `[m]` "stops here". */
  stop(e: NodeEmitter, logits: string, policy: ThresholdPolicy, exit: number, classes: number, tempered: boolean): string;
}

/** Tempered softmax `[m, classes]` of exit `exit`'s logits. */
function probabilities(e: NodeEmitter, logits: string, policy: ThresholdPolicy, exit: number, tempered: boolean): { z: string; p: string } {
  const [z] = tempered ? [logits] : e.op('Mul', [logits, e.float('inverse_temperature', 1 / policy.temperatures[exit]!)], {}, 1, 'tempered');
  const [p] = e.op('Softmax', [z!], { axis: 1 }, 1, 'probabilities');
  return { z: z!, p: p! };
}

function threshold(e: NodeEmitter, policy: ThresholdPolicy, exit: number): string {
  return e.float('threshold', policy.thresholds[exit]!);
}

const maxSoftmax: StopRule = {
  kind: 'max-softmax',
  stop(e, logits, policy, exit, _classes, tempered) {
    const { p } = probabilities(e, logits, policy, exit, tempered);
    return e.op('GreaterOrEqual', [e.reduce('ReduceMax', p, [1], false), threshold(e, policy, exit)], {}, 1, 'stop')[0]!;
  },
};

const entropy: StopRule = {
  kind: 'entropy',
  stop(e, logits, policy, exit, classes, tempered) {
    const { z, p } = probabilities(e, logits, policy, exit, tempered);
    const [logP] = e.op('LogSoftmax', [z], { axis: 1 });
    const [pLogP] = e.op('Mul', [p, logP!]);
    // H / log C = −Σ p log p / log C
    const [normalised] = e.op('Mul', [e.reduce('ReduceSum', pLogP!, [1], false), e.float('minus_inverse_log_classes', -1 / Math.log(classes))], {}, 1, 'entropy');
    return e.op('LessOrEqual', [normalised!, threshold(e, policy, exit)], {}, 1, 'stop')[0]!;
  },
};

const margin: StopRule = {
  kind: 'margin',
  stop(e, logits, policy, exit, _classes, tempered) {
    const { p } = probabilities(e, logits, policy, exit, tempered);
    const [top] = e.op('TopK', [p, e.ints('k', [2])], { axis: 1 }, 2, 'top2');
    const [first] = e.op('Gather', [top!, e.ints('first', [0], [])], { axis: 1 });
    const [second] = e.op('Gather', [top!, e.ints('second', [1], [])], { axis: 1 });
    const [gap] = e.op('Sub', [first!, second!], {}, 1, 'margin');
    return e.op('GreaterOrEqual', [gap!, threshold(e, policy, exit)], {}, 1, 'stop')[0]!;
  },
};

const RULES: ReadonlyMap<PolicyKind, StopRule> = new Map([maxSoftmax, entropy, margin].map((r) => [r.kind, r]));

/** The rule compiling `kind`, or undefined when that kind runs over segments only. */
export function stopRuleFor(kind: PolicyKind): StopRule | undefined {
  return RULES.get(kind);
}

/** Policy kinds the compiled model supports. */
export const COMPILED_KINDS: readonly PolicyKind[] = [...RULES.keys()];
