/**
 * The op registry against ONNX Runtime itself: every standard op is registered by ORT at the
 * opset the registry says introduced it and (when that is above 1) not one opset earlier; the
 * per-domain opset limits are exactly where ORT stops loading models.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeModel } from '../../src/onnx/model-io.ts';
import { ORT_MAX_OPSET, closestOp, lookupOp, ortMaxOpset, standardOps } from '../../src/onnx/op-registry.ts';
import { OP_SINCE_VERSIONS, ORT_EXTRA_OPS } from '../../src/onnx/op-schemas.generated.ts';
import { ortLoadError, tinyModel } from './tiny-models.ts';

/** Whether ORT knows op `opType` of `domain` at `opset` (any other complaint means it does). */
async function ortRegisters(domain: string, opType: string, opset: number): Promise<boolean> {
  const opsets = domain === '' ? { '': opset } : { '': 17, [domain]: opset };
  const model = tinyModel({ nodes: [{ opType, domain, input: ['x'], output: ['y'] }], opsets });
  const message = await ortLoadError(encodeModel(model));
  return !/No Op registered/.test(message);
}

test('ORT registers every ai.onnx and ai.onnx.ml op from the opset the registry gives, not before', async () => {
  const wrong: string[] = [];
  for (const domain of ['', 'ai.onnx.ml']) {
    for (const [op, versions] of Object.entries(OP_SINCE_VERSIONS[domain]!)) {
      const since = versions[0]!;
      if (!(await ortRegisters(domain, op, since))) wrong.push(`${domain}:${op} missing at ${since}`);
      const early = ORT_EXTRA_OPS[domain]?.[op] !== undefined;
      if (since > 1 && !early && (await ortRegisters(domain, op, since - 1))) wrong.push(`${domain}:${op} already at ${since - 1}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('ops newer than ONNX 1.12 are in the registry (hand-listed in scripts/gen-op-registry.py)', () => {
  const newer = Object.entries(OP_SINCE_VERSIONS['']!).filter(([, v]) => v[0]! > 17).map(([op, v]) => `${op}@${v[0]}`);
  for (const op of ['Gelu@20', 'GroupNormalization@18', 'Mish@18', 'Col2Im@18', 'BitwiseAnd@18', 'AffineGrid@20', 'ImageDecoder@20', 'RMSNormalization@23', 'Attention@23', 'RotaryEmbedding@23']) {
    assert.ok(newer.includes(op), op);
  }
  // IsNaN and DFT predate opset 18 (9 and 17); later revisions do not change when they exist.
  assert.deepEqual([lookupOp('', 'IsNaN', 9).status, lookupOp('', 'DFT', 17).status], ['standard', 'standard']);
});

test('ops ORT registers beyond ONNX are known to it from the opset listed, and no earlier', async () => {
  for (const [op, since] of Object.entries(ORT_EXTRA_OPS['']!)) {
    assert.ok(await ortRegisters('', op, since), op);
    assert.ok(since === 1 || !(await ortRegisters('', op, since - 1)), op);
  }
  assert.deepEqual(lookupOp('', 'ImageScaler', 17), { status: 'legacy' });
  assert.deepEqual(lookupOp('', 'LayerNormalization', 13), { status: 'legacy' });
  assert.deepEqual(lookupOp('', 'LayerNormalization', 17), { status: 'standard', version: 17 });
});

test('ORT_MAX_OPSET is the highest opset ORT loads per domain', async () => {
  for (const [domain, max] of Object.entries(ORT_MAX_OPSET)) {
    const at = (v: number) => ortLoadError(encodeModel(tinyModel({
      nodes: [{ opType: 'Identity', input: ['x'], output: ['y'] }],
      opsets: domain === '' ? { '': v } : { '': 17, [domain]: v },
    })));
    assert.equal(await at(max), 'ok', `${domain} at ${max}`);
    assert.match(await at(max + 1), /opset|Opset/, `${domain} at ${max + 1}`);
  }
});

test('lookupOp answers per opset, with the default domain under both names', () => {
  assert.deepEqual(lookupOp('', 'Conv', 17), { status: 'standard', version: 11 });
  assert.deepEqual(lookupOp('ai.onnx', 'Conv', 10), { status: 'standard', version: 1 });
  assert.deepEqual(lookupOp('', 'Gelu', 17), { status: 'too-new', since: 20 });
  assert.deepEqual(lookupOp('', 'Gelu', 20), { status: 'standard', version: 20 });
  assert.deepEqual(lookupOp('', 'Foo', 17), { status: 'unknown' });
  assert.deepEqual(lookupOp('', 'constructor', 17), { status: 'unknown' });
  assert.deepEqual(lookupOp('constructor', 'name', 17), { status: 'unchecked' });
  assert.equal(ortMaxOpset('__proto__'), undefined);
  assert.equal(ortMaxOpset('ai.onnx'), 26);
  assert.deepEqual(lookupOp('com.microsoft', 'FusedConv', 1), { status: 'unchecked' });
  assert.equal(closestOp('', 'conv'), 'Conv');
  assert.equal(closestOp('', 'Reluu'), 'Relu');
  assert.equal(closestOp('', 'CompletelyDifferent'), undefined);
  assert.ok(standardOps('').length >= 200);
});
