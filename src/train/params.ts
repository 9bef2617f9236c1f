/**
 * The parameter store: the float32 values training changes, by name. Trainable parameters get
 * gradients and optimizer updates; buffers (BatchNormalization running mean/variance) are state
 * the training graph recomputes each step, kept here so that they are fed, checkpointed and
 * exported together with the weights. Optimizers update `value` arrays in place, so a feed built
 * once from {@link ParamStore.feeds} stays current.
 */
import { clone } from '@bufbuild/protobuf';
import { ExitwiseError } from '../errors.ts';
import { type ModelProto, ModelProtoSchema } from '../onnx/proto/onnx_pb.ts';
import { arrayToTensor, DataType, tensorToArray } from '../onnx/tensor-data.ts';
import type { TensorLike } from '../runtime/tensor.ts';

export interface ParamEntry {
  readonly name: string;
  /** The values, updated in place by optimizers and {@link ParamStore.set}. */
  readonly value: Float32Array;
  readonly dims: readonly number[];
  /** Receives gradients and optimizer updates; false for buffers. */
  readonly trainable: boolean;
  /** Weight decay applies to it (always false for buffers). */
  readonly decay: boolean;
}

/** Turns weight decay on or off for the parameters whose name `pattern` (a RegExp source) matches. */
export interface DecayRule {
  pattern: string;
  decay: boolean;
}

export interface ParamStoreOptions {
  /** Initializers to train (e.g. what `buildTrainingGraph` was given). */
  trainable: readonly string[];
  /** Running state to carry along (e.g. the keys of `TrainingGraph.stateUpdates`). */
  buffers?: readonly string[];
  /** Overrides of the default decay choice ({@link defaultDecay}); the last matching rule wins. */
  decayRules?: readonly DecayRule[];
}

/** A copy of the store's values, as checkpoints hold them. */
export interface NamedTensor {
  name: string;
  dims: number[];
  value: Float32Array;
}

export interface ParamSnapshot {
  params: NamedTensor[];
  buffers: NamedTensor[];
}

/**
 * Whether a trainable tensor decays by default: weights (≥ 2-D) do; 1-D tensors — biases,
 * BatchNormalization scale and shift — do not. Biases and BN affine parameters are a handful of
 * numbers per channel that set offsets and scales, not the capacity that decay is meant to
 * restrain; decaying BN scale only shrinks activations that the next BN renormalises (weight
 * decay on it acts as a learning-rate change, not regularisation). This is the choice of Goyal et
 * al. 2017 ("Accurate, Large Minibatch SGD") and of timm; PyTorch's optimizers decay everything
 * unless told otherwise.
 */
export function defaultDecay(dims: readonly number[]): boolean {
  return dims.length >= 2;
}

export class ParamStore {
  private readonly byName: Map<string, ParamEntry>;

  /** Entries in the order given: trainable parameters, then buffers. */
  constructor(entries: readonly ParamEntry[]) {
    this.byName = new Map();
    for (const e of entries) {
      if (this.byName.has(e.name)) throw usage(`"${e.name}" is in the parameter store twice`, 'List each name once.');
      if (e.value.length !== e.dims.reduce((n, d) => n * d, 1)) throw usage(`"${e.name}" holds ${e.value.length} values for dims [${e.dims.join(', ')}]`, 'Give each entry as many values as its dims call for.');
      this.byName.set(e.name, e);
    }
  }

  /**
   * Copies the named float32 initializers of `model` into a store.
   *
   * @example
   * const tg = buildTrainingGraph(forward, { loss: 'loss', trainable });
   * const store = ParamStore.fromModel(forward, { trainable, buffers: [...tg.stateUpdates.keys()] });
   */
  static fromModel(model: ModelProto, options: ParamStoreOptions): ParamStore {
    const initializers = new Map((model.graph?.initializer ?? []).map((t) => [t.name, t]));
    const rules = (options.decayRules ?? []).map((r) => ({ regexp: compileRule(r.pattern), decay: r.decay }));
    const read = (name: string, trainable: boolean): ParamEntry => {
      const t = initializers.get(name);
      if (t === undefined) throw usage(`"${name}" is not an initializer of the model`, 'Name parameters as they appear in graph.initializer.');
      if (t.dataType !== DataType.FLOAT) throw usage(`"${name}" is not float32`, 'Only float32 initializers can be trained.');
      const dims = t.dims.map(Number);
      let decay = trainable && defaultDecay(dims);
      for (const r of rules) if (trainable && r.regexp.test(name)) decay = r.decay;
      return { name, value: Float32Array.from(tensorToArray(t).data as Float32Array), dims, trainable, decay };
    };
    const buffers = options.buffers ?? [];
    const both = options.trainable.find((n) => buffers.includes(n));
    if (both !== undefined) throw usage(`"${both}" is listed both as trainable and as a buffer`, 'A tensor is either trained (it gets gradients) or a buffer (running state the graph recomputes), not both.');
    return new ParamStore([...options.trainable.map((n) => read(n, true)), ...buffers.map((n) => read(n, false))]);
  }

  /** Every entry: trainable parameters, then buffers. */
  entries(): ParamEntry[] {
    return [...this.byName.values()];
  }

  /** The trainable entries, in store order (the order optimizers visit them). */
  params(): ParamEntry[] {
    return this.entries().filter((e) => e.trainable);
  }

  buffers(): ParamEntry[] {
    return this.entries().filter((e) => !e.trainable);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): ParamEntry {
    const e = this.byName.get(name);
    if (e === undefined) throw usage(`"${name}" is not in the parameter store`, 'Use the names the store was built with (see entries()).');
    return e;
  }

  /** Copies `values` into an entry (e.g. a BN running statistic the training graph output). */
  set(name: string, values: ArrayLike<number>): void {
    const e = this.get(name);
    if (values.length !== e.value.length) throw usage(`"${name}" holds ${e.value.length} values; got ${values.length}`, 'Copy in the graph output of the same tensor (TrainingGraph.stateUpdates maps each buffer to it).');
    e.value.set(values);
  }

  /**
   * Session feeds for every entry. The tensors share the store's arrays, so they stay valid
   * across optimizer steps: build them once.
   */
  feeds(): Record<string, TensorLike<'float32'>> {
    return Object.fromEntries(this.entries().map((e) => [e.name, { type: 'float32', dims: e.dims, data: e.value }]));
  }

  /** A copy of all values, e.g. for a checkpoint. */
  snapshot(): ParamSnapshot {
    const copy = (e: ParamEntry): NamedTensor => ({ name: e.name, dims: [...e.dims], value: e.value.slice() });
    return { params: this.params().map(copy), buffers: this.buffers().map(copy) };
  }

  /**
   * Loads values saved by {@link snapshot}. The names, roles and shapes must match the store
   * exactly (a checkpoint of another model, or of the same model with other trainable names, is
   * refused with `EXW_CHECKPOINT` before anything is changed).
   */
  restore(snapshot: ParamSnapshot): void {
    checkSameTensors('parameter', snapshot.params, this.params());
    checkSameTensors('buffer', snapshot.buffers, this.buffers());
    for (const t of [...snapshot.params, ...snapshot.buffers]) this.byName.get(t.name)!.value.set(t.value);
  }

  /** A copy of `model` whose initializers hold the store's current values (for export or evaluation). */
  applyTo(model: ModelProto): ModelProto {
    const out = clone(ModelProtoSchema, model);
    const initializers = out.graph?.initializer ?? [];
    for (const [i, t] of initializers.entries()) {
      const e = this.byName.get(t.name);
      if (e !== undefined) initializers[i] = arrayToTensor(t.name, DataType.FLOAT, e.dims, e.value);
    }
    const absent = [...this.byName.keys()].filter((n) => !initializers.some((t) => t.name === n));
    if (absent.length > 0) throw usage(`the model has no initializers named ${absent.join(', ')}`, 'Apply the store to the model it was built from.');
    return out;
  }
}

/** `EXW_CHECKPOINT` unless `saved` holds exactly the names and shapes of `mine`. */
function checkSameTensors(role: string, saved: readonly NamedTensor[], mine: readonly ParamEntry[]): void {
  const theirs = new Map(saved.map((t) => [t.name, t]));
  if (theirs.size !== saved.length) throw mismatch(`the checkpoint lists a ${role} twice`);
  const missing = mine.filter((e) => !theirs.has(e.name)).map((e) => e.name);
  const extra = saved.filter((t) => !mine.some((e) => e.name === t.name)).map((t) => t.name);
  if (missing.length > 0 || extra.length > 0) {
    throw mismatch(`the checkpoint's ${role}s do not match the model's` +
      (missing.length > 0 ? `; missing: ${missing.join(', ')}` : '') + (extra.length > 0 ? `; unexpected: ${extra.join(', ')}` : ''));
  }
  for (const e of mine) {
    const t = theirs.get(e.name)!;
    if (t.dims.length !== e.dims.length || t.dims.some((d, i) => d !== e.dims[i]) || t.value.length !== e.value.length) {
      throw mismatch(`${role} "${e.name}" has shape [${t.dims.join(', ')}] in the checkpoint and [${e.dims.join(', ')}] in the model`);
    }
  }
}

function compileRule(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (cause) {
    throw new ExitwiseError('EXW_USAGE', `decay rule pattern /${pattern}/ is not a valid regular expression`, {
      hint: 'Patterns are JavaScript RegExp sources, e.g. "\\\\.bias$" or "^bn".', cause,
    });
  }
}

function usage(message: string, hint: string): ExitwiseError {
  return new ExitwiseError('EXW_USAGE', message, { hint });
}

function mismatch(message: string): ExitwiseError {
  return new ExitwiseError('EXW_CHECKPOINT', message, {
    hint: 'Resume with the model, trainable parameters and exit heads the checkpoint was written for, or start a new run in another folder.',
  });
}
