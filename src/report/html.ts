/**
 * The report page: one self-contained HTML file. Charts are inline SVG rendered in Node, styles
 * are one inline `<style>`, and there is no script, font, image or link to fetch, so the file
 * opens the same offline, attached to an email, or with JavaScript disabled.
 */
import { VERSION } from '../version.ts';
import { RELIABILITY_COLOURS, RELIABILITY_SERIES, reportCharts } from './charts.ts';
import { escapeHtml, flops, ms, percent } from './format.ts';
import { renderSvg } from './svg.ts';
import { bundleTables, calibrationTable, overthinkingTables, policyTable } from './tables.ts';
import type { ReportData } from './types.ts';

const STYLE = `
:root { color-scheme: light; }
body { margin: 0; background: #f6f7f9; color: #1d1f23; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
header { border-bottom: 1px solid #dde1e6; margin-bottom: 20px; padding-bottom: 12px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h1 small { font-size: 15px; font-weight: 400; color: #5b6270; margin-left: 8px; }
h2 { font-size: 18px; margin: 0 0 10px; }
.meta { color: #5b6270; margin: 0; }
section { background: #fff; border: 1px solid #e3e6ea; border-radius: 8px; padding: 18px 20px; margin: 0 0 18px; }
.note { color: #5b6270; font-size: 13px; margin: 6px 0 12px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 12px; background: none; border: 0; padding: 0; }
.card { background: #fff; border: 1px solid #e3e6ea; border-radius: 8px; padding: 12px 16px; }
.card .value { font-size: 24px; font-weight: 600; }
.card .label { color: #5b6270; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .sub { color: #5b6270; font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px 16px; align-items: flex-start; }
figure.chart { margin: 0; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 10px 0 4px; font-size: 13px; }
th, td { padding: 5px 12px; border-bottom: 1px solid #eceef1; text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid #d5d9de; font-weight: 600; color: #3a3f47; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.facts td:first-child, table.summary td:first-child { font-weight: 600; white-space: nowrap; }
table.facts thead { display: none; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f1f3f5; padding: 1px 4px; border-radius: 3px; }
.legend { font-size: 12px; color: #3a3f47; margin: 0 0 6px; }
.swatch { display: inline-block; width: 18px; height: 3px; vertical-align: middle; margin: 0 6px 0 14px; }
.swatch:first-child { margin-left: 0; }
.swatch.diagonal { height: 0; border-top: 1px dashed #999; }
footer { color: #8a909a; font-size: 12px; text-align: center; }
`;

/**
 * Renders the whole report page for `data`.
 *
 * @example
 * const html = await renderReport(buildReportData({ manifest, title: 'fashion', test }));
 * writeFileSync('report.html', html);
 */
export async function renderReport(data: ReportData): Promise<string> {
  const svgs = new Map<string, string>();
  for (const chart of reportCharts(data)) svgs.set(chart.id, await renderSvg(chart.spec));
  const figure = (id: string): string => {
    const svg = svgs.get(id);
    return svg === undefined ? '' : `<figure class="chart" data-chart="${id}">${svg}</figure>`;
  };
  const K = data.analysis.exits.length;
  const date = data.generatedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(data.title)} — exitwise report</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header>
<h1>${escapeHtml(data.title)}<small>early-exit report</small></h1>
<p class="meta">${escapeHtml(data.dataset)} · ${escapeHtml(data.split)} split, ${data.samples.toLocaleString('en-US')} samples · ${K} exits · generated ${escapeHtml(date)}</p>
</header>
${summaryCards(data)}
<section id="operating-point">
<h2>Operating point</h2>
${data.policy === null
    ? '<p class="note">The bundle has no tuned policy, so there is no operating point. Tune one with <code>exitwise tune</code>.</p>'
    : `<p class="note">Policy <b>${escapeHtml(data.policy.kind)}</b>: ${escapeHtml(data.policy.description)}; logits are divided by each exit's temperature first. Its thresholds are the bundle's (<code>exitwise tune</code> fits them on the validation split); every figure here is measured on the ${escapeHtml(data.split)} split.</p>
${policyTable(data)}
<div class="charts">${figure('exit-histogram')}</div>`}
</section>
<section id="tradeoffs">
<h2>Accuracy–cost trade-offs</h2>
<p class="note">Each policy simulated on the ${escapeHtml(data.split)} outputs exactly as the runtime decides; FLOPs count every stage and head a sample runs through.${data.latency === null ? ' No latency profile was available, so only FLOPs are shown.' : ''}
Swept: ${data.tradeoffs.map((c) => `<b>${escapeHtml(c.kind)}</b> (${escapeHtml(c.parameterLabel)})`).join(', ')}.</p>
<div class="charts">${figure('tradeoff-flops')}${figure('tradeoff-latency')}</div>
</section>
<section id="calibration">
<h2>Calibration</h2>
<p class="note">${calibrationNote(data)} Reliability diagrams on the ${escapeHtml(data.split)} split, ${data.calibration.bins} equal-width confidence bins (empty bins omitted); marker area is proportional to the samples in a bin.</p>
${reliabilityLegend(data)}
<div class="charts">${data.calibration.exits.map((e) => figure(`reliability-${e.exit}`)).join('')}</div>
${calibrationTable(data)}
</section>
<section id="overthinking">
<h2>Overthinking</h2>
<p class="note">How often the later exits were unnecessary or harmful (Kaya et al. 2019), and what a perfect exit oracle would reach.</p>
${overthinkingTables(data)}
</section>
<section id="bundle">
<h2>Bundle</h2>
${bundleTables(data)}
${data.latency === null ? '' : `<p class="note">Latency: ${escapeHtml(data.latency.description)}.</p>`}
</section>
<footer>exitwise ${escapeHtml(VERSION)} · self-contained report: no scripts, no network</footer>
</main>
</body>
</html>
`;
}

function summaryCards(data: ReportData): string {
  const a = data.analysis;
  const final = a.exits[a.exits.length - 1]!;
  const card = (label: string, value: string, sub: string): string =>
    `<div class="card"><div class="label">${escapeHtml(label)}</div><div class="value">${escapeHtml(value)}</div><div class="sub">${escapeHtml(sub)}</div></div>`;
  const cards: string[] = [];
  const f = data.policy?.figures;
  if (f !== undefined) {
    const drop = f.dropPp;
    cards.push(card('Accuracy', percent(f.accuracy), `final exit ${percent(f.finalAccuracy)} (${drop >= 0 ? '−' : '+'}${Math.abs(drop).toFixed(2)} pp)`));
    cards.push(card('FLOPs per sample', `${flops(f.expectedFlops)}`, `${percent(f.flopsFraction, 1)} of the full model (${(1 / f.flopsFraction).toFixed(2)}× fewer)`));
    if (f.expectedMs !== undefined) {
      const finalMs = data.latency!.cumulativeMs.at(-1)!;
      cards.push(card('Latency', `${ms(f.expectedMs)} ms`, `per sample; final exit ${ms(finalMs)} ms (${(finalMs / f.expectedMs).toFixed(2)}× faster)`));
    }
  } else {
    cards.push(card('Final-exit accuracy', percent(final.accuracy), 'no tuned policy in the bundle'));
    cards.push(card('FLOPs per sample', flops(a.fullModelFlops), 'full model'));
  }
  cards.push(card('Oracle accuracy', percent(a.oracleAccuracy), `at ${percent(a.oracleFlopsFraction, 1)} of the FLOPs`));
  return `<section class="cards">${cards.join('')}</section>`;
}

function reliabilityLegend(data: ReportData): string {
  const shown = data.calibration.source === 'none' ? 1 : 2;
  const items = RELIABILITY_SERIES.slice(0, shown).map((name, i) => `<span class="swatch" style="background:${RELIABILITY_COLOURS[i]}"></span>${escapeHtml(name)}`);
  return `<p class="legend">${items.join('')}<span class="swatch diagonal"></span>perfect calibration</p>`;
}

function calibrationNote(data: ReportData): string {
  switch (data.calibration.source) {
    case 'manifest':
      return 'Temperatures from the bundle manifest (fitted on the validation split).';
    case 'fitted-on-val':
      return 'The bundle is uncalibrated (every temperature is 1); the "after" curves use temperatures this report fitted on the validation split, to show what calibration would do.';
    case 'none':
      return 'The bundle is uncalibrated (every temperature is 1) and no validation outputs were given, so only the raw reliability is shown.';
  }
}
