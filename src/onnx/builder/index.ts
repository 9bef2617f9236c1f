/** The ONNX graph builder: `new GraphBuilder({ opset })`, typed op methods, `build()`. */
export { GraphBuilder } from './nn-ops.ts';
export type * from './types.ts';
