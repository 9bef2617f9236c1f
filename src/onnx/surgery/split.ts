/**
 * Splitting a model into consecutive stages at cut tensors: the backbone slices `stage-k.onnx`
 * of an early-exit bundle. Stage k computes exactly what cut k needs and earlier stages did not,
 * so an input that exits after stage k paid for nothing beyond it.
 */
import { type GraphIndex, indexGraph } from '../graph-index.ts';
import type { ModelProto } from '../proto/onnx_pb.ts';
import { findCutPoints } from './cut-points.ts';
import { extractIndexed, requireGraph, type SurgeryOptions, surgeryError } from './extract.ts';
import { TensorTypes } from './tensor-types.ts';

/** What to do with a tensor other than the cut that must pass from one stage to a later one. */
export type CrossingPolicy = 'carry' | 'refuse';

export interface SplitOptions extends SurgeryOptions {
  /**
   * `'carry'` (default): such tensors (skip connections over a cut, branches to outputs computed
   * later) become extra outputs of the stage that makes them and extra inputs of the stages that
   * read them. `'refuse'`: `EXW_SURGERY` naming them and the cut they cross.
   */
  onCrossing?: CrossingPolicy;
}

/** One stage of a split model. */
export interface Stage {
  /** A standalone model; weights are initializers, only those this stage uses. */
  model: ModelProto;
  /**
   * Its inputs, in the model's order: the cut ending the previous stage first, then other
   * tensors of earlier stages (in graph order), then the original graph inputs it reads.
   */
  inputs: string[];
  /** Its outputs, in the model's order: its cut first, then carried tensors, then graph outputs. */
  outputs: string[];
  /** The cut tensor this stage ends at; `undefined` for the last stage. */
  cut: string | undefined;
  /**
   * Outputs other than `cut` that later stages read: skip connections over the cut, branches to
   * outputs computed later. Empty for every stage when the cuts come from `findCutPoints`.
   */
  carried: string[];
  /** The original graph outputs this stage produces (each output is produced by exactly one stage). */
  graphOutputs: string[];
}

/**
 * Splits a model at `cuts` (tensor names, in graph order, each computed from the previous one)
 * into `cuts.length + 1` stages. Stage k (k < cuts.length) holds the nodes needed for cut k that
 * earlier stages did not compute. **The last stage** holds every remaining node the graph outputs
 * need: the tail after the last cut, plus side branches that leave the backbone before a cut and
 * feed only outputs (an auxiliary head branching off early runs last; its branch tensor is
 * carried). Nodes that no output needs are dropped.
 *
 * Running the stages in order, each fed the original inputs it lists and the tensors earlier
 * stages returned, reproduces every graph output. A runtime keeps the returned tensors by name
 * until the last stage that lists them as inputs.
 *
 * @example
 * const [head, tail] = splitModel(model, ['block1_out']);
 * // head.outputs = ['block1_out'], tail.inputs = ['block1_out'], tail.graphOutputs = ['logits']
 */
export function splitModel(model: ModelProto, cuts: readonly string[], options: SplitOptions = {}): Stage[] {
  const graph = requireGraph(model);
  const index = indexGraph(graph);
  checkCuts(model, index, cuts);
  const { stageOf, reads } = placeNodes(index, cuts);
  checkOrder(index, cuts, stageOf, reads);

  const producerStage = (t: string): number => {
    const p = index.producer.get(t);
    return p === undefined ? -1 : stageOf[p]!;
  };
  const crossings = findCrossings(cuts, reads, producerStage);
  if (crossings.length > 0 && (options.onCrossing ?? 'carry') === 'refuse') {
    throw surgeryError(
      `other tensors cross the cuts besides the cut tensors: ${crossings.map((c) => `"${c.tensor}" crosses cut "${c.cut}"`).join('; ')}`,
      'Cut at a tensor from findCutPoints(model) (every path passes through it), or pass { onCrossing: "carry" } to carry these tensors to the stages that read them.',
    );
  }

  const position = topologicalPositions(index);
  const types = new TensorTypes(graph, options.shapes);
  return reads.map((stageReads, k) => {
    const cut = cuts[k];
    const previousCut = k > 0 ? cuts[k - 1]! : undefined;
    const fromEarlier = [...stageReads].filter((t) => t !== previousCut && producerStage(t) >= 0).sort((a, b) => position.get(a)! - position.get(b)!);
    const fromInputs = index.inputs.filter((t) => stageReads.has(t));
    const inputs = [...(previousCut === undefined ? [] : [previousCut]), ...fromEarlier, ...fromInputs];

    const laterReads = new Set(reads.slice(k + 1).flatMap((r) => [...r]));
    const carried = [...laterReads].filter((t) => t !== cut && producerStage(t) === k).sort((a, b) => position.get(a)! - position.get(b)!);
    const isLast = k === cuts.length;
    // Outputs that no node produces (a graph input or a constant returned as is) go to the last stage.
    const graphOutputs = index.outputs.filter((t) => producerStage(t) === k || (isLast && producerStage(t) === -1));
    const outputs = [...new Set([...(cut === undefined ? [] : [cut]), ...carried, ...graphOutputs])];

    const stage = extractIndexed(model, index, types, { inputs, outputs });
    stage.graph!.name = `${graph.name === '' ? 'graph' : graph.name}-stage-${k}`;
    return { model: stage, inputs, outputs, cut, carried, graphOutputs };
  });
}

function checkCuts(model: ModelProto, index: GraphIndex, cuts: readonly string[]): void {
  const outputs = new Set(index.outputs);
  cuts.forEach((cut, i) => {
    if (cuts.indexOf(cut) !== i) throw surgeryError(`cut "${cut}" is listed twice`, 'List each cut tensor once.');
    if (index.inputs.includes(cut)) throw surgeryError(`cut "${cut}" is a graph input`, 'Cut at a tensor strictly between the inputs and the outputs.');
    if (outputs.has(cut)) throw surgeryError(`cut "${cut}" is a graph output`, 'Cut at a tensor strictly between the inputs and the outputs; the last stage produces the graph outputs.');
    if (index.initializers.has(cut)) throw surgeryError(`cut "${cut}" is an initializer (a weight), not an activation`, 'Cut at a tensor computed from the inputs.');
    if (!index.producer.has(cut)) {
      const candidates = findCutPoints(model);
      throw surgeryError(`cut "${cut}" is not a tensor of the graph`, candidates.length === 0
        ? 'Check the name against the model (tensor names are case-sensitive).'
        : `Candidate cut points: ${candidates.slice(0, 12).join(', ')}${candidates.length > 12 ? ', …' : ''}.`);
    }
  });
}

/**
 * Gives every node the stage that first needs it: stage k claims the unclaimed ancestors of cut k
 * (the last stage those of the graph outputs). `reads[k]` are the tensors stage k takes from
 * outside: graph inputs and tensors of earlier stages.
 */
function placeNodes(index: GraphIndex, cuts: readonly string[]): { stageOf: Int32Array; reads: Set<string>[] } {
  const stageOf = new Int32Array(index.graph.node.length).fill(-1);
  const graphInputs = new Set(index.inputs);
  const targets = [...cuts.map((c) => [c]), index.outputs];
  const reads = targets.map((names, k) => {
    const stageReads = new Set<string>();
    const seen = new Set<string>();
    // Outputs already made by an earlier stage are reported there, not passed through to here.
    const stack = names.filter((t) => {
      const p = index.producer.get(t);
      return p === undefined || stageOf[p] === -1;
    });
    while (stack.length > 0) {
      const t = stack.pop()!;
      if (seen.has(t)) continue;
      seen.add(t);
      const p = index.producer.get(t);
      if (p === undefined) {
        if (graphInputs.has(t)) stageReads.add(t);
        continue;
      }
      if (stageOf[p] !== -1 && stageOf[p] !== k) {
        stageReads.add(t);
        continue;
      }
      stageOf[p] = k;
      stack.push(...index.nodeInputs(p));
    }
    return stageReads;
  });
  return { stageOf, reads };
}

/** Each cut must be computed by its own stage from the previous cut: cuts follow one another. */
function checkOrder(index: GraphIndex, cuts: readonly string[], stageOf: Int32Array, reads: readonly Set<string>[]): void {
  cuts.forEach((cut, k) => {
    const made = stageOf[index.producer.get(cut)!]!;
    if (made !== k) {
      throw surgeryError(`cuts are out of graph order: "${cut}" is computed on the way to cut "${cuts[made]}", which is listed before it`, 'List cuts in the order the graph computes them (findCutPoints returns them in that order).');
    }
  });
  cuts.forEach((cut, k) => {
    if (!reads[k + 1]!.has(cut)) {
      const next = k + 1 < cuts.length ? `the next cut "${cuts[k + 1]}"` : 'no graph output';
      throw surgeryError(`cut "${cut}" does not lead anywhere useful: ${next} depends on it`, 'Each cut must be computed from the previous one, and the graph outputs from the last.');
    }
  });
}

interface Crossing { tensor: string; cut: string }

/** Tensors other than the cut itself that pass over each cut (from a stage ≤ j to a stage > j). */
function findCrossings(cuts: readonly string[], reads: readonly Set<string>[], producerStage: (t: string) => number): Crossing[] {
  const crossings: Crossing[] = [];
  cuts.forEach((cut, j) => {
    const crossing = new Set<string>();
    for (let m = j + 1; m < reads.length; m++) {
      for (const t of reads[m]!) {
        const s = producerStage(t);
        if (s >= 0 && s <= j && t !== cut) crossing.add(t);
      }
    }
    for (const tensor of crossing) crossings.push({ tensor, cut });
  });
  return crossings;
}

/** Tensor name → position in a topological order of the producing nodes (outputs in node order). */
function topologicalPositions(index: GraphIndex): Map<string, number> {
  const position = new Map<string, number>();
  for (const i of index.order) for (const o of index.graph.node[i]!.output) if (o !== '') position.set(o, position.size);
  return position;
}
