/** The compiled adaptive model: a bundle and its policy as one ONNX graph with `If` branches. */
export { COMPILED_OUTPUTS, compileAdaptive, type CompiledModel, type CompiledShape, whyNotCompiled } from './compile.ts';
export { CompiledRunner } from './runner.ts';
export { COMPILED_KINDS, stopRuleFor, type StopRule } from './stop-rules.ts';
