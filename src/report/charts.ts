/**
 * The report's charts as vega-lite specs, built from `ReportData` alone. One colour per policy
 * kind everywhere; the tuned operating point is a large outlined diamond, its figures in the
 * subtitle; accuracy and FLOPs are shown as percentages with their units in the axis titles.
 */
import type { TopLevelSpec } from 'vega-lite';
import { count, percent } from './format.ts';
import type { ReportData } from './types.ts';

/** One chart of the page: `id` names its `<figure>` (tests and anchors find charts by it). */
export interface ChartSpec {
  id: string;
  spec: TopLevelSpec;
}

/** One layer of a layered vega-lite spec. */
type Layer = Extract<TopLevelSpec, { layer: unknown }>['layer'][number];
const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Policy kind → colour (Tableau 10, colour-blind friendly order), fixed so every chart agrees. */
export const KIND_COLOURS: Readonly<Record<string, string>> = {
  'max-softmax': '#4c78a8',
  entropy: '#f58518',
  margin: '#54a24b',
  patience: '#e45756',
  'class-means': '#72b7b2',
  learned: '#b279a2',
};
const NEUTRAL = '#6b6b6b';
const CORRECT = '#59a14f';
const WRONG = '#e15759';
const BEFORE = '#a8a8a8';
const AFTER = '#4c78a8';
/** The two series of every reliability diagram; the page draws their legend once, above the grid. */
export const RELIABILITY_SERIES = ['before calibration (T = 1)', 'after calibration'] as const;
export const RELIABILITY_COLOURS = [BEFORE, AFTER] as const;

/**
 * Sizes that fit two trade-off charts (legend at the side, where it never hides a curve) or four
 * reliability diagrams side by side on a 1280 px laptop screen.
 */
const TRADEOFF_SIZE = { width: 320, height: 280 };
const HISTOGRAM_SIZE = { width: 520, height: 240 };
const RELIABILITY_SIZE = { width: 150, height: 150 };

/** Shared look: system font, light grid, no frame around the plot area. */
const CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 500, gridColor: '#e8e8e8', domainColor: '#888', tickColor: '#888' },
  legend: { labelFontSize: 11, titleFontSize: 11, symbolSize: 80 },
  title: { fontSize: 14, fontWeight: 600, anchor: 'start', subtitleFontSize: 11, subtitleColor: '#555', offset: 10 },
} as const;

/** Every chart the page shows for `data`, in page order. */
export function reportCharts(data: ReportData): ChartSpec[] {
  const charts: ChartSpec[] = [];
  if (data.policy !== null) charts.push({ id: 'exit-histogram', spec: exitHistogram(data) });
  charts.push({ id: 'tradeoff-flops', spec: tradeoffChart(data, 'flops') });
  if (data.latency !== null) charts.push({ id: 'tradeoff-latency', spec: tradeoffChart(data, 'latency') });
  for (const e of data.calibration.exits) charts.push({ id: `reliability-${e.exit}`, spec: reliabilityChart(data, e.exit) });
  return charts;
}

/** Accuracy against expected FLOPs ratio or ms per sample, one line per policy kind. */
function tradeoffChart(data: ReportData, axis: 'flops' | 'latency'): TopLevelSpec {
  const x = (p: { flopsFraction: number; expectedMs?: number | null | undefined }): number => (axis === 'flops' ? p.flopsFraction : p.expectedMs!);
  const kinds = data.tradeoffs.map((c) => c.kind);
  const curves = data.tradeoffs.flatMap((c) => c.points.map((p) => ({ kind: c.kind, x: x(p), accuracy: p.accuracy })));
  const xTitle = axis === 'flops' ? 'Expected FLOPs per sample (% of full model)' : 'Expected latency (ms per sample)';
  const xFormat = axis === 'flops' ? '.0%' : '.3~f';
  const K = data.analysis.exits.length;
  const final = data.analysis.exits[K - 1]!;
  const finalX = axis === 'flops' ? final.flopsFraction : data.latency!.cumulativeMs[K - 1]!;
  const layers: Layer[] = [
    {
      data: { values: [{ y: final.accuracy, x: finalX, label: 'final exit only' }] },
      layer: [
        { mark: { type: 'rule', strokeDash: [4, 4], color: NEUTRAL }, encoding: { y: { field: 'y', type: 'quantitative' } } },
        { mark: { type: 'text', align: 'right', dy: -7, color: NEUTRAL, fontSize: 10 }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, text: { field: 'label' } } },
      ],
    },
    {
      data: { values: curves },
      mark: { type: 'line', point: { filled: true, size: 28 }, strokeWidth: 2, interpolate: 'linear' },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: xTitle, axis: { format: xFormat } },
        y: { field: 'accuracy', type: 'quantitative', title: `Accuracy on ${data.split} (%)`, scale: { zero: false }, axis: { format: '.0%' } },
        color: { field: 'kind', type: 'nominal', title: 'Policy (swept)', scale: { domain: kinds, range: kinds.map(colourOf) }, legend: { orient: 'right', offset: 12 } },
        order: { field: 'x', type: 'quantitative' },
      },
    },
  ];
  const subtitle = [
    axis === 'flops' ? `One threshold shared by every early exit; patience 1…${K - 1}` : `Measured: ${data.latency!.label}`,
  ];
  if (data.policy !== null) {
    const f = data.policy.figures;
    subtitle.push(`◆ tuned ${data.policy.kind}: ${percent(f.accuracy, 1)} at ${axis === 'flops' ? `${percent(f.flopsFraction, 0)} of the FLOPs` : `${f.expectedMs!.toFixed(3)} ms per sample`}`);
    layers.push({
      data: { values: [{ x: x(f), accuracy: f.accuracy }] },
      mark: { type: 'point', shape: 'diamond', filled: true, size: 260, color: colourOf(data.policy.kind), stroke: '#111', strokeWidth: 2, opacity: 1 },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'accuracy', type: 'quantitative' } },
    });
  }
  return {
    $schema: SCHEMA,
    title: { text: axis === 'flops' ? 'Accuracy vs FLOPs' : 'Accuracy vs latency', subtitle },
    ...TRADEOFF_SIZE,
    config: CONFIG,
    layer: layers,
  };
}

/** Where the tuned policy stops samples, split into right and wrong predictions. */
function exitHistogram(data: ReportData): TopLevelSpec {
  const p = data.policy!;
  const n = Math.max(1, data.samples);
  const name = (k: number): string => `exit ${k} · ${percent(data.analysis.exits[k]!.flopsFraction, 0)} FLOPs`;
  const names = data.analysis.exits.map((e) => name(e.index));
  const bars = p.figures.exitCounts.flatMap((count, k) => [
    { exit: name(k), outcome: 'right', share: p.exitCorrect[k]! / n },
    { exit: name(k), outcome: 'wrong', share: (count - p.exitCorrect[k]!) / n },
  ]);
  const totals = p.figures.exitCounts.map((count, k) => ({
    exit: name(k),
    share: count / n,
    label: count === 0 ? '0%' : `${percent(count / n, 1)} · ${percent(p.exitCorrect[k]! / count, 1)} right`,
  }));
  return {
    $schema: SCHEMA,
    title: { text: `Where samples exit (tuned ${p.kind})`, subtitle: `${count(data.samples)} ${data.split} samples; label: share of samples · accuracy of those that stop there` },
    ...HISTOGRAM_SIZE,
    config: CONFIG,
    encoding: { x: { field: 'exit', type: 'nominal', sort: names, title: 'Exit (cumulative FLOPs, % of full model)', axis: { labelAngle: 0 } } },
    layer: [
      {
        data: { values: bars },
        mark: { type: 'bar', width: { band: 0.6 } },
        encoding: {
          y: { field: 'share', type: 'quantitative', stack: 'zero', title: `Share of ${data.split} samples (%)`, axis: { format: '.0%' } },
          color: { field: 'outcome', type: 'nominal', title: 'Prediction', scale: { domain: ['right', 'wrong'], range: [CORRECT, WRONG] }, legend: { orient: 'right' } },
          order: { field: 'outcome', sort: 'ascending' },
        },
      },
      {
        data: { values: totals },
        mark: { type: 'text', dy: -7, fontSize: 11, color: '#222' },
        encoding: { y: { field: 'share', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  };
}

/** Reliability diagram of one exit, before (T = 1) and after calibration, against the diagonal. */
function reliabilityChart(data: ReportData, exit: number): TopLevelSpec {
  const e = data.calibration.exits[exit]!;
  const calibrated = data.calibration.source !== 'none';
  const series = [
    ...e.before.bins.map((b) => ({ ...b, series: RELIABILITY_SERIES[0] })),
    ...(calibrated ? e.after.bins.map((b) => ({ ...b, series: RELIABILITY_SERIES[1] })) : []),
  ];
  const subtitle = calibrated ? `T = ${e.after.temperature.toFixed(2)} · ECE ${percent(e.before.ece, 1)} → ${percent(e.after.ece, 1)}` : `uncalibrated · ECE ${percent(e.before.ece, 1)}`;
  return {
    $schema: SCHEMA,
    title: { text: `Exit ${exit}`, subtitle },
    ...RELIABILITY_SIZE,
    config: CONFIG,
    layer: [
      {
        data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
        mark: { type: 'line', strokeDash: [3, 3], color: '#999', strokeWidth: 1 },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values: series },
        mark: { type: 'line', point: false, strokeWidth: 1.6 },
        encoding: {
          x: { field: 'confidence', type: 'quantitative', title: 'Confidence (mean p_max)', scale: { domain: [0, 1] }, axis: { format: '.0%', tickCount: 5 } },
          y: { field: 'accuracy', type: 'quantitative', title: 'Accuracy in bin', scale: { domain: [0, 1] }, axis: { format: '.0%', tickCount: 5 } },
          color: { field: 'series', type: 'nominal', scale: { domain: [...RELIABILITY_SERIES], range: [BEFORE, AFTER] }, legend: null },
          order: { field: 'confidence', type: 'quantitative' },
        },
      },
      {
        // Marker area ∝ samples in the bin: a bin of three samples should not look as certain as one of thousands.
        data: { values: series },
        mark: { type: 'circle', opacity: 0.85 },
        encoding: {
          x: { field: 'confidence', type: 'quantitative' },
          y: { field: 'accuracy', type: 'quantitative' },
          size: { field: 'count', type: 'quantitative', scale: { type: 'sqrt', range: [6, 160], domain: [0, data.samples] }, legend: null },
          color: { field: 'series', type: 'nominal', scale: { domain: [...RELIABILITY_SERIES], range: [BEFORE, AFTER] }, legend: null },
        },
      },
    ],
  };
}

function colourOf(kind: string): string {
  return KIND_COLOURS[kind] ?? NEUTRAL;
}
