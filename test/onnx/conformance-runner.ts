/**
 * Runs one libonnx-testdata case (model + test_data_set_*) through exitwise's model IO and ONNX
 * Runtime. The question asked is "does our decode → encode change anything ORT can observe?":
 * the round-tripped bytes are run on the case's inputs and compared to ONNX's expected outputs;
 * when they disagree, the original bytes are run as well, and only a disagreement that the
 * original does not share counts against us.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { clone, equals, fromBinary, toBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel } from '../../src/onnx/model-io.ts';
import { type ModelProto, ModelProtoSchema, TensorProtoSchema } from '../../src/onnx/proto/onnx_pb.ts';
import { DataType, dataTypeName, tensorToArray } from '../../src/onnx/tensor-data.ts';

export const TESTDATA_ROOT = '/usr/share/libonnx-testdata/data';

/** ONNX's backend tests compare with numpy's assert_allclose(rtol=1e-3, atol=1e-7). */
const RTOL = 1e-3;
const ATOL = 1e-7;
/** float16 carries ~3 decimal digits; one ulp at 1 is ~1e-3. */
const RTOL_FLOAT16 = 4e-3;

/** Element types onnxruntime-node can feed and fetch (no bfloat16, float8 or complex). */
const ORT_JS_TYPES = new Set(['float32', 'float64', 'float16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string']);

export interface TestCase {
  /** `node/test_abs`. */
  id: string;
  dir: string;
}

export type Outcome =
  | { status: 'passed'; byteIdentical: boolean }
  | { status: 'skipped'; reason: string; detail: string; byteIdentical: boolean }
  | { status: 'failed'; reason: string; detail: string };

/** Every case folder with a model.onnx under the given suites (node, pytorch-converted, …). */
export function listCases(suites: readonly string[]): TestCase[] {
  return suites.flatMap((suite) => {
    const root = join(TESTDATA_ROOT, suite);
    if (!existsSync(root)) return [];
    return readdirSync(root)
      .sort()
      .filter((name) => existsSync(join(root, name, 'model.onnx')))
      .map((name) => ({ id: `${suite}/${name}`, dir: join(root, name) }));
  });
}

/** decode → encode → decode must give the same message, and encoding it again the same bytes. */
export function roundTrip(original: Uint8Array): { bytes: Uint8Array; model: ModelProto; byteIdentical: boolean } {
  const first = decodeModel(original);
  const bytes = encodeModel(first);
  const second = decodeModel(bytes);
  if (!equals(ModelProtoSchema, first, second)) throw new Error('decode(encode(m)) differs from m');
  const again = encodeModel(second);
  if (!Buffer.from(again).equals(Buffer.from(bytes))) throw new Error('encoding is not stable: encode(decode(encode(m))) differs from encode(m)');
  return { bytes, model: first, byteIdentical: Buffer.from(bytes).equals(Buffer.from(original)) };
}

const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  logSeverityLevel: 4,
};

/** Groups ORT's load/run error messages into a few stable reasons for the tally. */
export function classifyOrtError(message: string): string {
  if (/Could not find an implementation/.test(message)) return 'ORT has no CPU kernel for this op/type';
  if (/No Op registered/.test(message)) return 'ORT does not register this op';
  if (/is not a registered function\/op/.test(message)) return 'ORT does not register this op';
  if (/string_normalizer.*Locale/.test(message)) return 'ORT: StringNormalizer locale not installed';
  if (/NOT_IMPLEMENTED|not implemented|not supported|Unsupported/i.test(message)) return 'ORT: not implemented / unsupported';
  if (/Type Error|type mismatch|TypeError|Invalid.*type/i.test(message)) return 'ORT: type error';
  if (/shape|dimension|Dimension/.test(message)) return 'ORT: shape error';
  return 'ORT: other load/run error';
}

export interface RunOptions {
  /**
   * Changes the decoded model before it is re-encoded and run: the runner's self-test uses it to
   * check that a round trip that alters the model is reported as a failure.
   */
  mutate?: (model: ModelProto) => void;
}

/** Runs one case. Throws only for bugs in the test itself. */
export async function runCase(testCase: TestCase, options: RunOptions = {}): Promise<Outcome> {
  const original = readFileSync(join(testCase.dir, 'model.onnx'));
  let trip: ReturnType<typeof roundTrip>;
  try {
    trip = roundTrip(original);
  } catch (e) {
    return { status: 'failed', reason: 'decode/round trip', detail: (e as Error).message };
  }
  const { model, byteIdentical } = trip;
  let bytes = trip.bytes;
  if (options.mutate !== undefined) {
    const changed = clone(ModelProtoSchema, model);
    options.mutate(changed);
    bytes = encodeModel(changed);
  }
  const pbProblem = tensorPbsRoundTrip(testCase.dir, model);
  if (pbProblem !== undefined) return { status: 'failed', reason: 'test-data tensor round trip', detail: pbProblem };
  const graph = model.graph!;
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const nonTensor = [...graph.input.filter((v) => !initializers.has(v.name)), ...graph.output].find((v) => v.type?.value.case !== 'tensorType');
  if (nonTensor !== undefined) {
    return { status: 'skipped', reason: `non-tensor input/output (${nonTensor.type?.value.case ?? 'untyped'})`, detail: nonTensor.name, byteIdentical };
  }
  const types = [...graph.input, ...graph.output].map((v) => dataTypeName(v.type?.value.case === 'tensorType' ? v.type.value.value.elemType : 0));
  const unsupported = types.find((t) => !ORT_JS_TYPES.has(t));
  if (unsupported !== undefined) {
    return { status: 'skipped', reason: `${unsupported} tensors cannot cross onnxruntime-node's JS API`, detail: unsupported, byteIdentical };
  }
  const dataSets = readdirSync(testCase.dir).filter((d) => d.startsWith('test_data_set_')).sort();
  const ours = await runAll(bytes, testCase.dir, dataSets);
  if (ours.ok) return { status: 'passed', byteIdentical };
  const theirs = await runAll(original, testCase.dir, dataSets);
  if (theirs.ok) {
    return { status: 'failed', reason: 'round trip changed ORT results', detail: ours.detail };
  }
  if (theirs.kind === 'error') return { status: 'skipped', reason: classifyOrtError(theirs.detail), detail: theirs.detail.slice(0, 300), byteIdentical };
  return { status: 'skipped', reason: 'ORT output differs from ONNX reference on the original model too', detail: theirs.detail, byteIdentical };
}

type RunResult = { ok: true } | { ok: false; kind: 'error' | 'mismatch'; detail: string };

async function runAll(bytes: Uint8Array, dir: string, dataSets: string[]): Promise<RunResult> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  } catch (e) {
    return { ok: false, kind: 'error', detail: (e as Error).message };
  }
  try {
    for (const set of dataSets) {
      const feeds: Record<string, ort.Tensor> = {};
      readPbs(join(dir, set), 'input').forEach((pb, i) => {
        const name = session.inputNames[i];
        if (name !== undefined) feeds[name] = toOrtTensor(pb);
      });
      let results: ort.InferenceSession.OnnxValueMapType;
      try {
        results = await session.run(feeds);
      } catch (e) {
        return { ok: false, kind: 'error', detail: (e as Error).message };
      }
      const expected = readPbs(join(dir, set), 'output');
      for (let i = 0; i < expected.length; i++) {
        const name = session.outputNames[i]!;
        const problem = compare(expected[i]!, results[name]!);
        if (problem !== undefined) return { ok: false, kind: 'mismatch', detail: `${set} output "${name}": ${problem}` };
      }
    }
    return { ok: true };
  } finally {
    await session.release();
  }
}

/** input_0.pb, input_1.pb, … decoded as TensorProtos (each must also re-encode byte for byte). */
function readPbs(dir: string, prefix: 'input' | 'output'): Uint8Array[] {
  const files = readdirSync(dir).filter((f) => f.startsWith(`${prefix}_`) && f.endsWith('.pb'));
  files.sort((a, b) => Number(a.slice(prefix.length + 1, -3)) - Number(b.slice(prefix.length + 1, -3)));
  return files.map((f) => readFileSync(join(dir, f)));
}

function toOrtTensor(pb: Uint8Array): ort.Tensor {
  const tensor = fromBinary(TensorProtoSchema, pb);
  const { dataType, dims, data } = tensorToArray(tensor);
  return new ort.Tensor(dataTypeName(dataType) as ort.Tensor.Type, data, dims);
}

/** Why `actual` does not match the expected tensor, or undefined when it does. */
function compare(expectedPb: Uint8Array, actual: ort.Tensor): string | undefined {
  const expected = tensorToArray(fromBinary(TensorProtoSchema, expectedPb));
  if (expected.dims.join(',') !== actual.dims.join(',')) return `dims [${actual.dims}] ≠ expected [${expected.dims}]`;
  const want = expected.data;
  const got = actual.data as typeof want;
  if (want.length !== got.length) return `${got.length} elements ≠ expected ${want.length}`;
  const float = expected.dataType === DataType.FLOAT || expected.dataType === DataType.DOUBLE || expected.dataType === DataType.FLOAT16;
  const toNumber = expected.dataType === DataType.FLOAT16 ? float16ToNumber : Number;
  const rtol = expected.dataType === DataType.FLOAT16 ? RTOL_FLOAT16 : RTOL;
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (!float) {
      if (w !== g) return `element ${i}: ${String(g)} ≠ expected ${String(w)}`;
      continue;
    }
    const [a, b] = [toNumber(g as number), toNumber(w as number)];
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    if (a === b) continue; // infinities
    if (!(Math.abs(a - b) <= ATOL + rtol * Math.abs(b))) return `element ${i}: ${a} ≠ expected ${b} (rtol ${rtol}, atol ${ATOL})`;
  }
  return undefined;
}

function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Input/output .pb tensors must survive decode → encode byte for byte too. */
function tensorPbsRoundTrip(dir: string, model: ModelProto): string | undefined {
  const graph = model.graph!;
  if ([...graph.input, ...graph.output].some((v) => v.type?.value.case !== 'tensorType')) return undefined;
  for (const set of readdirSync(dir).filter((d) => d.startsWith('test_data_set_'))) {
    for (const prefix of ['input', 'output'] as const) {
      for (const pb of readPbs(join(dir, set), prefix)) {
        const again = toBinary(TensorProtoSchema, fromBinary(TensorProtoSchema, pb));
        if (!Buffer.from(again).equals(Buffer.from(pb))) return `${set}/${prefix} tensor re-encodes differently`;
      }
    }
  }
  return undefined;
}
