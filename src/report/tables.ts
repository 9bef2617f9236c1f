/**
 * The report's tables as HTML fragments. Every value from the data is escaped; numbers are
 * right-aligned with their unit in the header.
 */
import { count, escapeHtml, flops, ms, percent } from './format.ts';
import type { ReportData } from './types.ts';

/** A cell: text (escaped) or `{html}` already safe; numeric cells are right-aligned. */
type Cell = string | number | { html: string };

/** An HTML table; columns whose header is in `numeric` (by index) are right-aligned. */
export function table(header: string[], rows: Cell[][], options: { numeric?: number[]; caption?: string; className?: string } = {}): string {
  const numeric = new Set(options.numeric ?? []);
  const cell = (c: Cell, i: number, tag: 'td' | 'th'): string => {
    const body = typeof c === 'object' ? c.html : escapeHtml(String(c));
    return `<${tag}${numeric.has(i) ? ' class="num"' : ''}>${body}</${tag}>`;
  };
  return [
    `<table${options.className === undefined ? '' : ` class="${escapeHtml(options.className)}"`}>`,
    options.caption === undefined ? '' : `<caption>${escapeHtml(options.caption)}</caption>`,
    `<thead><tr>${header.map((h, i) => cell(h, i, 'th')).join('')}</tr></thead>`,
    `<tbody>${rows.map((r) => `<tr>${r.map((c, i) => cell(c, i, 'td')).join('')}</tr>`).join('')}</tbody>`,
    '</table>',
  ].join('');
}

/** Per exit: threshold, temperature, where samples stop and how right they are there. */
export function policyTable(data: ReportData): string {
  const p = data.policy!;
  const K = data.analysis.exits.length;
  const rows = data.analysis.exits.map((e, k) => {
    const stopped = p.figures.exitCounts[k]!;
    const rule = k === K - 1 ? 'always stops' : p.thresholds !== null ? thresholdText(p.thresholds[k]!) : `streak ≥ ${p.patience}`;
    return [
      `exit ${k}`, rule, p.temperatures[k]!.toFixed(3), percent(e.flopsFraction),
      percent(p.figures.exitFractions[k]!), stopped === 0 ? '—' : percent(p.exitCorrect[k]! / stopped),
    ];
  });
  return table(['exit', 'rule', 'temperature', 'cumulative FLOPs (% of full)', 'samples stopping', 'accuracy of those'], rows, { numeric: [2, 3, 4, 5] });
}

function thresholdText(t: number | null): string {
  return t === null ? 'disabled' : `τ = ${t.toPrecision(4)}`;
}

/** Per exit: temperature, ECE and NLL before and after calibration. */
export function calibrationTable(data: ReportData): string {
  const rows = data.calibration.exits.map((e) => [
    `exit ${e.exit}`, percent(e.accuracy), e.after.temperature.toFixed(3),
    percent(e.before.ece, 2), percent(e.after.ece, 2), e.before.nll.toFixed(4), e.after.nll.toFixed(4),
  ]);
  return table(['exit', 'accuracy', 'temperature', 'ECE before', 'ECE after', 'NLL before (nats)', 'NLL after (nats)'], rows, { numeric: [1, 2, 3, 4, 5, 6] });
}

/** Per exit: accuracy, first right exit, cumulative cost; then the network-wide overthinking figures. */
export function overthinkingTables(data: ReportData): string {
  const a = data.analysis;
  const perExit = a.exits.map((e, k) => [
    `exit ${k}`, percent(e.accuracy), percent(data.firstCorrect[k]!), flops(e.cumulativeFlops), percent(e.flopsFraction), ms(data.latency?.cumulativeMs[k]),
  ]);
  const wrong = 1 - a.oracleAccuracy;
  const summary: Cell[][] = [
    ['Wasteful', percent(a.overthinking.wasteful), 'right at some earlier exit: the rest of the network was not needed'],
    ['Destructive', percent(a.overthinking.destructive), 'right at some earlier exit but wrong at the final one'],
    ['Oracle accuracy', percent(a.oracleAccuracy), `right at one exit at least (final exit alone: ${percent(a.exits[a.exits.length - 1]!.accuracy)})`],
    ['Oracle FLOPs', percent(a.oracleFlopsFraction), 'of the full model, stopping every sample at its first right exit'],
    ['Wrong everywhere', percent(wrong), 'no exit gets these right'],
  ];
  return [
    table(['', 'share of samples', 'meaning'], summary, { numeric: [1], className: 'summary' }),
    table(['exit', 'accuracy', 'first right here', 'cumulative FLOPs', '% of full model', 'cumulative ms / sample'], perExit, { numeric: [1, 2, 3, 4, 5] }),
  ].join('\n');
}

/** Segments (stage k and head k), input and provenance. */
export function bundleTables(data: ReportData): string {
  const b = data.bundle;
  const segments = b.stages.map((s, k) => {
    const head = b.exits[k]!;
    return [`${k}`, count(s.params), flops(s.flops), count(head.params), flops(head.flops), flops(data.analysis.exits[k]!.cumulativeFlops), ms(data.latency?.cumulativeMs[k])];
  });
  const p = b.provenance;
  const facts: Cell[][] = [
    ['Input', `${b.input.name}: ${b.input.dtype} [${b.input.shape.join(', ')}]`],
    ['Classes', `${data.classes.length}: ${data.classes.join(', ')}`],
    ['Exits', `${b.exits.length} (the last is the backbone's own classifier)`],
    ['Parameters', count(b.params)],
    ['Full model FLOPs', `${flops(data.analysis.fullModelFlops)} per sample (every stage and the final head)`],
    ['Trained on', `${p.dataset}, strategy ${p.strategy}${p.split === null ? '' : `, validation ${percent(p.split.valFraction, 0)} of ${p.split.limit === null ? 'all' : `the first ${count(p.split.limit)}`} training images (seed ${p.split.seed})`}`],
    ['Created', `${p.date} by exitwise ${p.exitwiseVersion}`],
    ['Profiles', b.profiles.length === 0 ? 'none' : b.profiles.join(', ')],
  ];
  return [
    table(['', ''], facts, { className: 'facts' }),
    table(['segment', 'stage params', 'stage FLOPs', 'head params', 'head FLOPs', 'cumulative FLOPs', 'cumulative ms / sample'], segments, { numeric: [1, 2, 3, 4, 5, 6] }),
  ].join('\n');
}
