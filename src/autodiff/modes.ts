/**
 * Which BatchNormalization and Dropout nodes run in training mode (batch statistics and running
 * statistics updated; random masks) and which in inference mode (running statistics; identity).
 *
 * The default, `'trainable-paths'`, follows what is trained: a node runs in training mode when
 * the training graph differentiates it, i.e. it lies on a path from a trainable parameter to the
 * loss. Exits-only training on a frozen backbone thus keeps the backbone's BN in inference mode
 * (its statistics stay those the backbone was trained with) while the heads' BN trains;
 * end-to-end training puts every BN in training mode. `'all'` also puts frozen parts in training
 * mode (BN statistics adapt to new data with the weights frozen); `'none'` keeps every node in
 * inference mode (fine-tuning with frozen statistics). `nodeModes` overrides single nodes.
 */
import { ExitwiseError } from '../errors.ts';
import type { GraphIndex } from '../onnx/graph-index.ts';

export type TrainingMode = 'trainable-paths' | 'all' | 'none';
export type NodeMode = 'train' | 'eval';

/** Follows what is trained; see the file comment. */
export const DEFAULT_TRAINING_MODE: TrainingMode = 'trainable-paths';

/** Ops whose forward differs between training and inference. */
export const MODE_DEPENDENT_OPS: ReadonlySet<string> = new Set(['BatchNormalization', 'Dropout']);

/** Indices of the nodes that run in training mode. */
export function trainingNodes(
  index: GraphIndex, active: readonly number[], mode: TrainingMode, overrides: Readonly<Record<string, NodeMode>>,
): Set<number> {
  const { graph } = index;
  const byName = new Map(graph.node.map((n, i) => [n.name, i]));
  for (const [name, m] of Object.entries(overrides)) {
    const i = byName.get(name);
    if (i === undefined) {
      throw new ExitwiseError('EXW_GRADIENT', `nodeModes names "${name}", which is not a node of the graph`, { hint: 'Use the names in graph.node[].name.' });
    }
    if (!MODE_DEPENDENT_OPS.has(graph.node[i]!.opType)) {
      throw new ExitwiseError('EXW_GRADIENT', `nodeModes sets "${name}" to '${m}', but it is a ${graph.node[i]!.opType}`, {
        hint: `Only ${[...MODE_DEPENDENT_OPS].join(' and ')} nodes have a training mode.`,
      });
    }
    if (m !== 'train' && m !== 'eval') throw new ExitwiseError('EXW_GRADIENT', `nodeModes["${name}"] is '${String(m)}'`, { hint: "Use 'train' or 'eval'." });
  }
  if (!['trainable-paths', 'all', 'none'].includes(mode)) {
    throw new ExitwiseError('EXW_GRADIENT', `trainingMode '${String(mode)}' is not one of 'trainable-paths', 'all', 'none'`);
  }
  const activeSet = new Set(active);
  const training = new Set<number>();
  graph.node.forEach((node, i) => {
    if (!MODE_DEPENDENT_OPS.has(node.opType)) return;
    const override = overrides[node.name];
    const on = override !== undefined ? override === 'train' : mode === 'all' || (mode === 'trainable-paths' && activeSet.has(i));
    if (on) training.add(i);
  });
  return training;
}
