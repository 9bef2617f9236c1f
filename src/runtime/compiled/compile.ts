/**
 * The compiled adaptive model: a whole bundle and its policy as one ONNX graph, where each exit's
 * decision feeds an `If` whose branch holds the rest of the network. One ONNX Runtime call per
 * batch instead of one per exit: no call overhead per segment, no copies into JavaScript between
 * segments, and ONNX Runtime keeps its blocked layout inside each branch. On this machine kind the
 * per-segment runtime spent ≈ 35–70 µs per input on calls and copies for a 40-MFLOP network,
 * a third of the plain model's own time (bench/README figures).
 *
 * Two shapes of graph:
 * - `single`: for one input. The branch taken at exit k is "answer here" or "go on".
 * - `batch`: for any batch. At exit k the rows that stop are scattered into the answer; the rows
 *   that go on are gathered (compaction in the graph, order kept) and the `If` runs the rest on
 *   them when any are left. Costs a few small ops per exit, which at batch 1 add up.
 *
 * Outputs: the answering exit's raw logits `[N, classes]` and its index `[N]` (int64).
 */
import { create } from '@bufbuild/protobuf';
import type { Bundle } from '../../bundle/io.ts';
import { mergeSegments } from '../../bundle/merge.ts';
import type { ExitPolicy, ThresholdPolicy } from '../../exits/policies/policy.ts';
import {
  type AttributeProto, AttributeProto_AttributeType, AttributeProtoSchema, type ModelProto, ModelProtoSchema, type NodeProto, type TensorProto,
} from '../../onnx/proto/onnx_pb.ts';
import { valueInfoFromShape } from '../../onnx/shapes/value-info.ts';
import { arrayToTensor, DataType } from '../../onnx/tensor-data.ts';
import { ModelScope, NodeEmitter } from './emitter.ts';
import { stopRuleFor, type StopRule } from './stop-rules.ts';

export type CompiledShape = 'single' | 'batch';

export interface CompiledModel {
  model: ModelProto;
  shape: CompiledShape;
  /** Graph input (the bundle input) and outputs. */
  input: string;
  logits: string;
  exit: string;
  /** Exits whose heads run (threshold set, or final). */
  exitsRun: boolean[];
  /** Exits whose logits output is divided by the exit's temperature (the answer's raw logits are these × T). */
  tempered: boolean[];
}

/** Names of the compiled model's outputs. */
export const COMPILED_OUTPUTS = { logits: 'exitwise/logits', exit: 'exitwise/exit' } as const;

/** Opset the compiled control flow needs at least (Squeeze/Unsqueeze axes as inputs). */
const MIN_OPSET = 13;

/**
 * Why `policy` cannot be compiled for `bundle` (undefined: it can). Such policies run over
 * segments, which every kind supports.
 */
export function whyNotCompiled(bundle: Bundle, policy: ExitPolicy): string | undefined {
  if (stopRuleFor(policy.kind) === undefined) return `${policy.kind} policies keep per-input state or a fitted model`;
  if (!('thresholds' in policy)) return `${policy.kind} has no thresholds`;
  const opset = defaultOpset(bundle);
  if (opset < MIN_OPSET) return `the bundle is at opset ${opset}; the compiled model needs ${MIN_OPSET}`;
  const { stages, input } = bundle.manifest;
  const available = new Set([input.name]);
  for (const [k, s] of stages.entries()) {
    const missing = s.inputs.find((n) => !available.has(n));
    if (missing !== undefined) return `stage ${k} reads "${missing}", which no earlier stage provides`;
    for (const o of s.outputs) available.add(o);
  }
  return undefined;
}

/** The compiled model of `bundle` under `policy` (check {@link whyNotCompiled} first). */
export function compileAdaptive(bundle: Bundle, policy: ExitPolicy, shape: CompiledShape): CompiledModel {
  const reason = whyNotCompiled(bundle, policy);
  if (reason !== undefined) throw new Error(`internal: compileAdaptive on a policy it cannot compile (${reason})`);
  const thresholds = policy as ThresholdPolicy;
  const rule = stopRuleFor(policy.kind)!;
  const { manifest } = bundle;
  const K = manifest.stages.length;
  const exitsRun = manifest.exits.map((_, k) => k === K - 1 || thresholds.thresholds[k] !== null);

  // Segment order: stage 0, exit 0 (if run), stage 1, …; remember where each landed.
  const segments: ModelProto[] = [];
  const stageSegment: number[] = [];
  const exitSegment: (number | undefined)[] = [];
  for (let k = 0; k < K; k++) {
    stageSegment.push(segments.push(bundle.stages[k]!) - 1);
    exitSegment.push(exitsRun[k] ? segments.push(bundle.exits[k]!) - 1 : undefined);
  }
  const input = manifest.input.name;
  const merged = mergeSegments(segments, {
    graphName: `${bundle.stages[0]!.graph?.name || 'bundle'}-adaptive-${shape}`,
    input,
    boundary: manifest.stages.flatMap((s) => [...s.inputs, ...s.outputs]),
    reserved: Object.values(COMPILED_OUTPUTS),
  });
  const nodesOf = (segment: number) => merged.graph.node.slice(...merged.nodeRanges[segment]!);
  const taken = [
    ...merged.graph.node.flatMap((n) => [...n.output, n.name]), ...merged.graph.initializer.map((t) => t.name), input, ...Object.values(COMPILED_OUTPUTS),
  ];
  const scope = new ModelScope(defaultOpset(bundle), taken);
  const weightRanks = new Map(merged.graph.initializer.map((t) => [t.name, t.dims.length]));
  const logitsOf = (k: number) => merged.nameIn(exitSegment[k]!, manifest.exits[k]!.output);
  // Early exits whose logits come out of a Gemm give tempered logits straight away (alpha and beta / T): one op fewer per exit.
  const heads = manifest.exits.map((_, k) => (exitsRun[k] && k < K - 1
    ? temperedHead(nodesOf(exitSegment[k]!), logitsOf(k), thresholds.temperatures[k]!)
    : { nodes: exitSegment[k] === undefined ? [] : nodesOf(exitSegment[k]!), tempered: false }));
  const plan: Plan = {
    K, rule, policy: thresholds, classes: manifest.task.classes.length, exitsRun,
    stageNodes: (k) => nodesOf(stageSegment[k]!),
    exitNodes: (k) => heads[k]!.nodes,
    tempered: (k) => heads[k]!.tempered,
    logitsOf,
    weightRank: (name) => weightRanks.get(name),
    carried: (k) => {
      const later = new Set(manifest.stages.slice(k + 1).flatMap((s) => s.inputs));
      return [input, ...manifest.stages.slice(0, k + 1).flatMap((s) => s.outputs)].filter((t) => later.has(t));
    },
  };
  const top = new NodeEmitter(scope);
  const [logits, exit] = shape === 'single' ? singleLevel(top, plan, 0) : batchTop(top, plan, input);
  // The public names go on the If that yields the answers; anything else (no early exit) through an Identity.
  for (const [value, name] of [[logits!, COMPILED_OUTPUTS.logits], [exit!, COMPILED_OUTPUTS.exit]] as const) {
    const producer = top.nodes.find((n) => n.output.includes(value));
    if (producer?.opType === 'If') producer.output = producer.output.map((o) => (o === value ? name : o));
    else {
      top.op('Identity', [value], {}, 1, 'final');
      top.nodes.at(-1)!.output = [name];
    }
  }

  const graph = merged.graph;
  graph.node = top.nodes;
  graph.initializer.push(...scope.initializers);
  // Value infos would describe tensors that now live in nested branches; ONNX Runtime infers them.
  graph.valueInfo = [];
  graph.output = [
    valueInfoFromShape(COMPILED_OUTPUTS.logits, { dataType: DataType.FLOAT, dims: ['N', plan.classes] }),
    valueInfoFromShape(COMPILED_OUTPUTS.exit, { dataType: DataType.INT64, dims: ['N'] }),
  ];
  const model = create(ModelProtoSchema, {
    ...merged.model,
    docString: `exitwise compiled adaptive model (${shape}): ${K} exits, ${policy.kind} policy`,
    graph,
  });
  return { model, shape, input, logits: COMPILED_OUTPUTS.logits, exit: COMPILED_OUTPUTS.exit, exitsRun, tempered: heads.map((h) => h.tempered) };
}

/** Head nodes with the Gemm giving `logits` scaled by 1/`temperature`, or as they are when another op gives them. */
function temperedHead(nodes: NodeProto[], logits: string, temperature: number): { nodes: NodeProto[]; tempered: boolean } {
  const at = nodes.findIndex((n) => n.output[0] === logits && n.opType === 'Gemm');
  if (at < 0) return { nodes, tempered: false };
  const gemm = nodes[at]!;
  const scale = (name: string): AttributeProto => {
    const given = gemm.attribute.find((a) => a.name === name)?.f ?? 1;
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: given / temperature });
  };
  const attribute = [...gemm.attribute.filter((a) => a.name !== 'alpha' && a.name !== 'beta'), scale('alpha'), scale('beta')];
  return { nodes: nodes.map((n, i) => (i === at ? { ...n, attribute } : n)), tempered: true };
}

interface Plan {
  K: number;
  rule: StopRule;
  policy: ThresholdPolicy;
  classes: number;
  exitsRun: boolean[];
  stageNodes(k: number): NodeProto[];
  exitNodes(k: number): NodeProto[];
  /** Whether exit k's logits are tempered already. */
  tempered(k: number): boolean;
  logitsOf(k: number): string;
  /** Tensors that exist after stage k (the bundle input, outputs of stages 0..k) and later stages read. */
  carried(k: number): string[];
  /** Rank of the initializer `name` (a Conv's weights), undefined when it is not one. */
  weightRank(name: string): number | undefined;
}

/**
 * From stage k on, for one input: stage k, exit k, then `If(stop)` answering here or going on.
 * Returns the names of the logits and exit index this scope ends with.
 */
function singleLevel(e: NodeEmitter, plan: Plan, k: number, branchEntry = false): [string, string] {
  e.adopt(branchEntry ? enterBlockedLayout(e, plan, plan.stageNodes(k), plan.carried(k - 1)) : plan.stageNodes(k));
  if (!plan.exitsRun[k]) return singleLevel(e, plan, k + 1);
  e.adopt(plan.exitNodes(k));
  const logits = plan.logitsOf(k);
  const here = e.ints('exit', [k]);
  if (k === plan.K - 1) return [logits, here];
  const stop = plan.rule.stop(e, logits, plan.policy, k, plan.classes, plan.tempered(k));
  const answer = e.branch().graph(`exit${k}_answers`, [logits, here]);
  const rest = e.branch();
  const after = singleLevel(rest, plan, k + 1, true);
  const [outLogits, outExit] = e.op('If', [stop], { then_branch: answer, else_branch: rest.graph(`after_exit${k}`, after) }, 2, `after_exit${k}`);
  return [outLogits!, outExit!];
}

/** The batch graph's preamble: row indices 0..N−1 and empty answers, then level 0. */
function batchTop(e: NodeEmitter, plan: Plan, input: string): [string, string] {
  const [shape] = e.op('Shape', [input]);
  const [n1] = e.op('Slice', [shape!, e.ints('zero', [0]), e.ints('one', [1])], {}, 1, 'batch_1d');
  const [n] = e.op('Squeeze', [n1!, e.ints('axis0', [0])], {}, 1, 'batch');
  const [rows] = e.op('Range', [e.ints('start', [0], []), n!, e.ints('step', [1], [])], {}, 1, 'rows');
  const [answerShape] = e.op('Concat', [n1!, e.ints('classes', [plan.classes])], { axis: 0 });
  const [logits] = e.op('ConstantOfShape', [answerShape!], { value: scalarTensor(DataType.FLOAT, 0) }, 1, 'answer_logits');
  const [exits] = e.op('ConstantOfShape', [n1!], { value: scalarTensor(DataType.INT64, -1) }, 1, 'answer_exit');
  return batchLevel(e, plan, 0, { rows: rows!, logits: logits!, exits: exits!, names: new Map() });
}

/**
 * `nodes` with every tensor of `entering` that a Conv and some other node both read taken through
 * a 1×1 MaxPool first (an exact copy). Why: a tensor enters an `If` branch in NCHW; ONNX Runtime
 * converts it to its blocked layout for each Conv reading it, but leaves the other readers (a
 * residual Add) in NCHW, so the block's sum is done apart from its conv and converted back and
 * forth. Read through a pooling op, which ONNX Runtime runs in the blocked layout, the tensor is
 * converted once and every reader gets the blocked copy. Measured on the Fashion ResNet: ≈ 1.5%
 * of the plain model's time per exit at batch 1, more at batch 64.
 */
function enterBlockedLayout(e: NodeEmitter, plan: Plan, nodes: NodeProto[], entering: readonly string[]): NodeProto[] {
  const remap = new Map<string, string>();
  for (const t of entering) {
    const readers = nodes.filter((n) => n.input.includes(t));
    const conv = readers.find((n) => n.opType === 'Conv' && n.input[0] === t);
    const rank = conv === undefined ? undefined : plan.weightRank(conv.input[1]!);
    if (readers.length < 2 || rank === undefined || rank < 3) continue;
    remap.set(t, e.op('MaxPool', [t], { kernel_shape: new Array<number>(rank - 2).fill(1) }, 1, 'blocked')[0]!);
  }
  if (remap.size === 0) return nodes;
  return nodes.map((n) => (n.input.some((i) => remap.has(i)) ? { ...n, input: n.input.map((i) => remap.get(i) ?? i) } : n));
}

interface BatchState {
  /** Original indices `[m]` (int64) of the rows in this scope. */
  rows: string;
  /** Answers so far, `[N, classes]` and `[N]`. */
  logits: string;
  exits: string;
  /** Boundary tensors compacted in this scope: bundle name → name here. */
  names: Map<string, string>;
}

function batchLevel(e: NodeEmitter, plan: Plan, k: number, state: BatchState, branchEntry = false): [string, string] {
  // Nodes reading a compacted tensor read it under its name in this scope.
  const rename = (nodes: NodeProto[]): NodeProto[] => nodes.map((node) => {
    if (!node.input.some((n) => state.names.has(n))) return node;
    return { ...node, input: node.input.map((n) => state.names.get(n) ?? n) };
  });
  const stage = rename(plan.stageNodes(k));
  e.adopt(branchEntry ? enterBlockedLayout(e, plan, stage, [...state.names.values()]) : stage);
  if (!plan.exitsRun[k]) return batchLevel(e, plan, k + 1, state);
  e.adopt(rename(plan.exitNodes(k)));
  const logits = plan.logitsOf(k);
  const [rows2] = e.op('Unsqueeze', [state.rows, e.ints('axis1', [1])], {}, 1, 'rows_2d');
  if (k === plan.K - 1) {
    const [count] = e.op('Shape', [state.rows]);
    const [here] = e.op('Expand', [e.ints('exit', [k], []), count!], {}, 1, `exit${k}_index`);
    const [outLogits] = e.op('ScatterND', [state.logits, rows2!, logits], {}, 1, 'answer_logits');
    const [outExits] = e.op('ScatterND', [state.exits, rows2!, here!], {}, 1, 'answer_exit');
    return [outLogits!, outExits!];
  }
  const stop = plan.rule.stop(e, logits, plan.policy, k, plan.classes, plan.tempered(k));
  // Rows stopping here: their logits and exit index go into the answers at their original rows.
  const [stopAt] = e.op('NonZero', [stop]);
  const [stopRows] = e.op('Transpose', [stopAt!], {}, 1, 'stop_rows'); // [s, 1]
  const [original] = e.op('GatherND', [rows2!, stopRows!], {}, 1, 'stop_original'); // [s, 1]
  const [stopLogits] = e.op('GatherND', [logits, stopRows!], {}, 1, 'stop_logits');
  const [stopCount] = e.op('Shape', [stopRows!], {}, 1, 'stop_shape');
  const [s] = e.op('Slice', [stopCount!, e.ints('zero', [0]), e.ints('one', [1])], {}, 1, 'stop_count');
  const [here] = e.op('Expand', [e.ints('exit', [k], []), s!], {}, 1, `exit${k}_index`);
  const [answerLogits] = e.op('ScatterND', [state.logits, original!, stopLogits!], {}, 1, 'answer_logits');
  const [answerExits] = e.op('ScatterND', [state.exits, original!, here!], {}, 1, 'answer_exit');
  // Rows going on: every tensor later stages read, compacted in order.
  const [going] = e.op('Not', [stop], {}, 1, 'going');
  const [goAt] = e.op('NonZero', [going!]);
  const [goRows] = e.op('Squeeze', [goAt!, e.ints('axis0', [0])], {}, 1, 'go_rows'); // [m']
  const names = new Map<string, string>();
  for (const t of plan.carried(k)) {
    names.set(t, e.op('Gather', [state.names.get(t) ?? t, goRows!], { axis: 0 }, 1, `${t}_compacted`)[0]!);
  }
  const [rows] = e.op('Gather', [state.rows, goRows!], { axis: 0 }, 1, 'rows');
  const [left] = e.op('Size', [goRows!], {}, 1, 'left');
  const [any] = e.op('Greater', [left!, e.ints('none', [0], [])], {}, 1, 'any_left');
  const rest = e.branch();
  const after = batchLevel(rest, plan, k + 1, { rows: rows!, logits: answerLogits!, exits: answerExits!, names }, true);
  const done = e.branch().graph(`all_stopped_at_exit${k}`, [answerLogits!, answerExits!]);
  const [outLogits, outExit] = e.op('If', [any!], { then_branch: rest.graph(`after_exit${k}`, after), else_branch: done }, 2, `after_exit${k}`);
  return [outLogits!, outExit!];
}

/** The default-domain opset the bundle's first stage imports. */
function defaultOpset(bundle: Bundle): number {
  return Number(bundle.stages[0]!.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0n);
}

/** A one-element tensor (ConstantOfShape's fill value). */
function scalarTensor(dataType: number, value: number): TensorProto {
  return arrayToTensor('', dataType, [1], dataType === DataType.INT64 ? BigInt64Array.of(BigInt(value)) : Float32Array.of(value));
}
