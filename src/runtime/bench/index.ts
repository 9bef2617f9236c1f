/** The adaptive-inference benchmark: its baselines, its inputs and the measurement (`exitwise bench`). */
export { benchAdaptive, noExitPolicy, BENCH_DEFAULTS, type BenchOptions, type BenchProgress, type BenchFigures } from './benchmark.ts';
export { prepareInputs, type BenchInputs } from './inputs.ts';
export { PaddedRuntime, type PaddedResult } from './padded.ts';
export { PlainModel, fixedInputDims } from './plain.ts';
export { BenchReportSchema, type BenchReport, type BenchBatch, type BenchNoExit } from '../../schemas/bench.ts';
