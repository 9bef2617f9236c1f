/**
 * Vega-lite → static SVG in Node: compile to vega, run a headless view (renderer `none`, no DOM,
 * no canvas) and serialise its scene graph. The SVG needs no script or network to display.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * Renders a vega-lite spec to an SVG document string. A spec that fails to render is a bug of the
 * spec, so its error propagates unchanged (the CLI reports it as an internal error).
 *
 * @example
 * const svg = await renderSvg({ data: { values: [{ x: 1 }] }, mark: 'point', encoding: { x: { field: 'x', type: 'quantitative' } } });
 * svg.startsWith('<svg'); // true
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // A loader that refuses everything: report data is inline, so a chart can never reach the network or disk.
  const loader = vega.loader();
  loader.load = () => Promise.reject(new Error('report charts use inline data only'));
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none', loader, logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
