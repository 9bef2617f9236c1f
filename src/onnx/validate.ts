/**
 * Model validation: the checks that turn "ONNX Runtime refuses this model with a C++ stack trace"
 * into a typed error that names the node and tensor at fault. It checks structure (every tensor
 * read is defined: by a node, a graph input, an initializer or an enclosing graph; one producer
 * per tensor; graph outputs produced; no cycles), tensor data sizes, and ops (domain imported and
 * known, op type defined at the imported opset, opset not newer than ORT runs).
 */
import { create } from '@bufbuild/protobuf';
import { type ErrorCode, ExitwiseError } from '../errors.ts';
import { describeNode, indexGraph } from './graph-index.ts';
import { KNOWN_DOMAINS, canonicalDomain, closestOp, domainLabel, lookupOp, ortMaxOpset } from './op-registry.ts';
import {
  type FunctionProto, type GraphProto, GraphProtoSchema, type ModelProto, type NodeProto, type OperatorSetIdProto, type TensorProto,
} from './proto/onnx_pb.ts';
import { checkTensorData } from './tensor-data.ts';

/** Highest ModelProto.ir_version ONNX Runtime 1.30 loads (measured: 14 is refused). */
export const ORT_MAX_IR_VERSION = 13;

/** One problem found in a model. */
export interface ValidationIssue {
  code: ErrorCode;
  /** What is wrong and where (graph path, node, tensor). */
  message: string;
  hint?: string;
}

/** The result of a validation that found no errors. */
export interface ValidationReport {
  /** Things ORT accepts but that deserve attention (legacy ops, unused opset imports, unloaded external data). */
  warnings: ValidationIssue[];
  /** Opset version per imported domain ('' is ai.onnx). */
  opsets: Record<string, number>;
  /** Graphs checked: the main graph, subgraphs and function bodies. */
  graphs: number;
  /** Nodes checked over all graphs. */
  nodes: number;
}

/** Everything validation found: errors and warnings, with the report's counts. */
export interface ValidationResult extends ValidationReport {
  errors: ValidationIssue[];
}

/**
 * Checks a model and returns every error and warning without throwing.
 * @example
 * const { errors } = checkModel(loadModel('model.onnx'));
 * for (const e of errors) console.log(e.code, e.message);
 */
export function checkModel(model: ModelProto): ValidationResult {
  const ctx = new Checker(model);
  ctx.run();
  return { errors: ctx.errors, warnings: ctx.warnings, opsets: Object.fromEntries(ctx.modelOpsets), graphs: ctx.graphs, nodes: ctx.nodes };
}

/**
 * Validates a model; throws the first error as an `ExitwiseError` (`EXW_MODEL_INVALID`,
 * `EXW_UNKNOWN_OP` or `EXW_TENSOR_DATA`), its message counting any further errors.
 * @example
 * const report = validateModel(model); // throws on a dangling input or an unknown op
 * report.warnings.forEach((w) => console.warn(w.message));
 */
export function validateModel(model: ModelProto): ValidationReport {
  const { errors, ...report } = checkModel(model);
  const first = errors[0];
  if (first !== undefined) {
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? 's' : ''}: ${errors.slice(1, 4).map((e) => e.message).join('; ')}${errors.length > 4 ? '; …' : ''})` : '';
    throw new ExitwiseError(first.code, first.message + more, first.hint === undefined ? {} : { hint: first.hint });
  }
  return report;
}

/** Where in the model a graph sits, for messages: `graph "main" > If "cond" (node #2) .then_branch`. */
type Where = string;

class Checker {
  readonly errors: ValidationIssue[] = [];
  readonly warnings: ValidationIssue[] = [];
  readonly modelOpsets: Map<string, number>;
  /** `domain::name` of every model-local function. */
  private readonly functions: Set<string>;
  private readonly usedDomains = new Set<string>();
  graphs = 0;
  nodes = 0;

  constructor(private readonly model: ModelProto) {
    this.functions = new Set(model.functions.map((f) => `${canonicalDomain(f.domain)}::${f.name}`));
    this.modelOpsets = this.readOpsets(model.opsetImport, 'the model');
  }

  run(): void {
    const ir = Number(this.model.irVersion);
    if (ir > ORT_MAX_IR_VERSION) {
      this.error('EXW_MODEL_INVALID', `the model has ir_version ${ir}; ONNX Runtime 1.30 reads up to ${ORT_MAX_IR_VERSION}`, 'Re-export the model with an older ONNX version (or set a lower ir_version if it uses no newer feature).');
    }
    if (this.model.graph !== undefined) this.checkGraph(this.model.graph, `graph "${this.model.graph.name}"`, new Set(), this.modelOpsets);
    for (const fn of this.model.functions) this.checkFunction(fn);
    for (const [domain] of this.modelOpsets) {
      if (!this.usedDomains.has(domain) && !isKnownDomain(domain) && !this.isFunctionDomain(domain)) {
        this.warn('EXW_UNKNOWN_OP', `the model imports domain "${domain}", which no node uses and ONNX Runtime does not know`);
      }
    }
  }

  private readOpsets(imports: OperatorSetIdProto[], owner: string): Map<string, number> {
    const opsets = new Map<string, number>();
    for (const { domain: raw, version: v } of imports) {
      const domain = canonicalDomain(raw);
      const version = Number(v);
      const previous = opsets.get(domain);
      if (previous !== undefined && previous !== version) {
        this.error('EXW_MODEL_INVALID', `${owner} imports domain ${domainLabel(domain)} twice (opsets ${previous} and ${version})`, 'Keep one opset_import entry per domain.');
      }
      opsets.set(domain, version);
      if (version < 1) this.error('EXW_MODEL_INVALID', `${owner} imports domain ${domainLabel(domain)} at opset ${version}; opsets start at 1`);
      const max = ortMaxOpset(domain);
      if (max !== undefined && version > max) {
        this.error('EXW_UNKNOWN_OP', `${owner} imports ${domainLabel(domain)} opset ${version}, newer than the ${max} ONNX Runtime 1.30 runs`, `Re-export the model with opset ≤ ${max} for ${domainLabel(domain)}.`);
      }
    }
    return opsets;
  }

  private isFunctionDomain(domain: string): boolean {
    return this.model.functions.some((f) => canonicalDomain(f.domain) === domain);
  }

  private checkFunction(fn: FunctionProto): void {
    const where = `function ${domainLabel(fn.domain)}::${fn.name}`;
    const opsets = fn.opsetImport.length > 0 ? this.readOpsets(fn.opsetImport, where) : this.modelOpsets;
    const body = create(GraphProtoSchema, { name: fn.name, input: fn.input.map((name) => ({ name })), output: fn.output.map((name) => ({ name })), node: fn.node });
    this.checkGraph(body, where, new Set(), opsets);
  }

  /** Checks one graph; `outer` holds the names visible from enclosing graphs. */
  private checkGraph(graph: GraphProto, where: Where, outer: ReadonlySet<string>, opsets: ReadonlyMap<string, number>): void {
    this.graphs++;
    this.nodes += graph.node.length;
    const local = new Map<string, string>(); // tensor name → what defines it
    let duplicated = false;
    const define = (name: string, what: string): void => {
      const first = local.get(name);
      if (name === '') {
        this.error('EXW_MODEL_INVALID', `${where} has ${what} with an empty name`);
      } else if (first !== undefined) {
        duplicated = true;
        this.error('EXW_MODEL_INVALID', `${where} defines tensor "${name}" twice: as ${first} and as ${what}`, 'ONNX graphs are in SSA form: every tensor has exactly one producer.');
      } else {
        local.set(name, what);
      }
    };
    graph.input.forEach((v) => define(v.name, 'a graph input'));
    for (const t of graph.initializer) if (!graph.input.some((v) => v.name === t.name)) define(t.name, 'an initializer');
    for (const s of graph.sparseInitializer) if (s.values !== undefined) define(s.values.name, 'a sparse initializer');
    graph.node.forEach((node, i) => node.output.forEach((out) => out !== '' && define(out, `an output of ${describeNode(node, i)}`)));
    const visible = new Set([...outer, ...local.keys()]);

    for (const t of graph.initializer) this.checkTensor(t, `${where}, initializer "${t.name}"`);
    graph.node.forEach((node, i) => {
      const at = `${where}, ${describeNode(node, i)}`;
      this.checkOp(node, at, opsets);
      for (const name of node.input) {
        if (name !== '' && !visible.has(name)) {
          this.error('EXW_MODEL_INVALID', `${at} reads tensor "${name}", which no node, graph input, initializer or enclosing graph defines`, 'If it is a weight, its initializer is missing: re-export the model. Optional inputs that are absent must be written as "".');
        }
      }
      for (const attr of node.attribute) {
        if (attr.t !== undefined) this.checkTensor(attr.t, `${at}, attribute "${attr.name}"`);
        attr.tensors.forEach((t) => this.checkTensor(t, `${at}, attribute "${attr.name}"`));
        for (const g of attr.g === undefined ? attr.graphs : [attr.g, ...attr.graphs]) {
          this.checkGraph(g, `${at} .${attr.name}`, visible, opsets);
        }
      }
    });
    for (const out of graph.output) {
      if (!visible.has(out.name)) {
        this.error('EXW_MODEL_INVALID', `${where} declares output "${out.name}", which nothing produces`, 'Remove the output or add the node that computes it.');
      }
    }
    // Duplicates are reported above; indexGraph would throw on them before looking for cycles.
    if (!duplicated) {
      try {
        indexGraph(graph);
      } catch (e) {
        if (!(e instanceof ExitwiseError)) throw e;
        this.error(e.code, `${where}: ${e.message}`, e.hint);
      }
    }
  }

  private checkOp(node: NodeProto, at: string, opsets: ReadonlyMap<string, number>): void {
    const domain = canonicalDomain(node.domain);
    this.usedDomains.add(domain);
    if (node.opType === '') {
      this.error('EXW_MODEL_INVALID', `${at} has no op_type`);
      return;
    }
    if (this.functions.has(`${domain}::${node.opType}`)) return;
    const opset = opsets.get(domain);
    if (opset === undefined) {
      this.error('EXW_UNKNOWN_OP', `${at} uses domain ${domainLabel(domain)}, which the model's opset_import does not list`, `Add an opset_import entry for "${domain}".`);
      return;
    }
    if (!isKnownDomain(domain)) {
      this.error('EXW_UNKNOWN_OP', `${at} uses domain "${domain}", which ONNX Runtime does not know and no model-local function defines`, `Known domains: ${KNOWN_DOMAINS.map(domainLabel).join(', ')}. Custom ops need an ORT custom-op library, which exitwise does not load; express the op with standard ops or as a model-local function.`);
      return;
    }
    const found = lookupOp(domain, node.opType, opset);
    if (found.status === 'unknown') {
      const near = closestOp(domain, node.opType);
      this.error('EXW_UNKNOWN_OP', `${at}: ${domainLabel(domain)} has no op "${node.opType}"`, near === undefined ? 'Check the op name and domain.' : `Did you mean "${near}"?`);
    } else if (found.status === 'too-new') {
      this.error('EXW_UNKNOWN_OP', `${at}: ${node.opType} exists from ${domainLabel(domain)} opset ${found.since}, but the model imports opset ${opset}`, `Raise the opset import to ≥ ${found.since} (ONNX Runtime 1.30 runs up to ${ortMaxOpset(domain) ?? '?'}), or use an older equivalent.`);
    } else if (found.status === 'legacy') {
      this.warn('EXW_UNKNOWN_OP', `${at}: ${node.opType} is not a standard op at ${domainLabel(domain)} opset ${opset}; ONNX Runtime registers it anyway, other runtimes may not`);
    }
  }

  private checkTensor(tensor: TensorProto, where: string): void {
    if (tensor.dataLocation === 1) {
      this.warn('EXW_EXTERNAL_DATA', `${where} keeps its data in an external file that was not loaded; its size is not checked`);
      return;
    }
    try {
      checkTensorData(tensor);
    } catch (e) {
      if (!(e instanceof ExitwiseError)) throw e;
      this.error(e.code, `${where}: ${e.message}`, e.hint);
    }
  }

  private error(code: ErrorCode, message: string, hint?: string): void {
    this.errors.push(hint === undefined ? { code, message } : { code, message, hint });
  }

  private warn(code: ErrorCode, message: string): void {
    this.warnings.push({ code, message });
  }
}

function isKnownDomain(domain: string): boolean {
  return ortMaxOpset(domain) !== undefined;
}
