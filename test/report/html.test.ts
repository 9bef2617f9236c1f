import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseManifest } from '../../src/bundle/manifest.ts';
import { buildReportData } from '../../src/report/build.ts';
import { reportCharts } from '../../src/report/charts.ts';
import { renderReport } from '../../src/report/html.ts';
import type { ReportData } from '../../src/report/types.ts';
import { fashionReportInput } from './support.ts';

const CHROMIUM = '/usr/bin/chromium';
const root = mkdtempSync(join(tmpdir(), 'exw-report-html-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** The full page (tuned, calibrated, with latency) and a bare one (no policy, uncalibrated, no val, no latency). */
const full = fashionReportInput();
const pages: { name: string; data: ReportData; html: string }[] = [];
before(async () => {
  const { val: _v, ...noVal } = full;
  const bare = parseManifest({ ...full.manifest, exits: full.manifest.exits.map((e) => ({ ...e, temperature: 1 })), policy: undefined });
  for (const [name, data] of [
    ['full', buildReportData({ ...full, title: 'fashion <cnn> & "exits"' })],
    ['bare', buildReportData({ ...noVal, manifest: bare, latency: null })],
  ] as const) pages.push({ name, data, html: await renderReport(data) });
});

describe('report page (static)', () => {
  it('draws the charts the data calls for: trade-offs, exit histogram, one reliability diagram per exit', () => {
    const [fullPage, barePage] = pages;
    assert.deepEqual(reportCharts(fullPage!.data).map((c) => c.id), ['exit-histogram', 'tradeoff-flops', 'tradeoff-latency', 'reliability-0', 'reliability-1', 'reliability-2', 'reliability-3']);
    assert.deepEqual(reportCharts(barePage!.data).map((c) => c.id), ['tradeoff-flops', 'reliability-0', 'reliability-1', 'reliability-2', 'reliability-3']);
    for (const { data, html } of pages) {
      const ids = [...html.matchAll(/<figure class="chart" data-chart="([\w-]+)"><svg /g)].map((m) => m[1]);
      assert.deepEqual(ids, reportCharts(data).map((c) => c.id));
    }
    assert.match(barePage!.html, /no tuned policy/);
    assert.match(barePage!.html, /No latency profile was available/);
  });

  it('is self-contained: no script, stylesheet link, image, frame, font or URL to fetch', () => {
    for (const { name, html } of pages) {
      assert.ok(html.startsWith('<!DOCTYPE html>'), name);
      assert.doesNotMatch(html, /<script|<link|<img|<iframe|<object|<embed|@import|url\(/i, name);
      assert.doesNotMatch(html, /\b(src|href)\s*=\s*["']?\s*(https?:)?\/\//i, name);
      // The only URLs are the SVG and XLink namespace names, which nothing fetches.
      const urls = new Set(html.match(/https?:\/\/[^\s"'<>)]+/g) ?? []);
      assert.deepEqual([...urls].sort(), ['http://www.w3.org/1999/xlink', 'http://www.w3.org/2000/svg'], name);
    }
  });

  it('escapes text from the bundle', () => {
    const html = pages[0]!.html;
    assert.match(html, /<title>fashion &#60;cnn&#62; &#38; &#34;exits&#34; — exitwise report<\/title>/);
    assert.doesNotMatch(html, /<cnn>/);
  });
});

/** What the browser finds in one `<figure class="chart">`. */
interface ChartMeasure {
  id: string; width: number; height: number; title: string;
  lines: number; symbols: number; rects: number; labels: number; axes: number; emptyPaths: number;
}

/**
 * Measures every chart in the page. Source text, not a function: tsx would wrap a function's
 * inner helpers in its `__name` helper, which does not exist in the page.
 */
const MEASURE_CHARTS = `[...document.querySelectorAll('figure.chart')].map((f) => {
  const svg = f.querySelector(':scope > svg');
  const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
  const count = (selector) => f.querySelectorAll(selector).length;
  const title = f.querySelector('.role-title-text text');
  return {
    id: f.getAttribute('data-chart'),
    width: box.width,
    height: box.height,
    title: title ? title.textContent : '',
    lines: count('.mark-line.role-mark path'),
    symbols: count('.mark-symbol.role-mark path'),
    rects: count('.mark-rect.role-mark path'),
    labels: count('.mark-text.role-mark text'),
    axes: count('.role-axis-label text'),
    emptyPaths: [...f.querySelectorAll('.role-mark path')].filter((p) => !p.getAttribute('d')).length,
  };
})`;

describe('report page in headless Chromium', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: install the Debian package \`chromium\` (CI does) to run the browser check` }, () => {
  it('renders every chart with its marks, with no console error and no request', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    try {
      for (const { name, data, html } of pages) {
        const file = join(root, `${name}.html`);
        writeFileSync(file, html);
        const page = await browser.newPage({ viewport: { width: 1366, height: 900 }, javaScriptEnabled: false });
        const problems: string[] = [];
        page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('request', (r) => { if (r.url() !== `file://${file}`) problems.push(`request: ${r.url()}`); });
        await page.goto(`file://${file}`, { waitUntil: 'load' });

        const expected = reportCharts(data).map((c) => c.id);
        const charts = (await page.evaluate(MEASURE_CHARTS)) as ChartMeasure[];
        assert.deepEqual(charts.map((c) => c.id), expected, name);
        const K = data.analysis.exits.length;
        const points = data.tradeoffs.reduce((s, c) => s + c.points.length, 0);
        for (const c of charts) {
          const what = `${name}/${c.id}`;
          assert.ok(c.width >= 200 && c.height >= 150, `${what} is ${c.width}×${c.height}`);
          assert.ok(c.width <= 720, `${what} fits a laptop screen: ${c.width} px`);
          assert.ok(c.axes >= 6 && c.title.length > 0, `${what} has a title and labelled axes`);
          assert.equal(c.emptyPaths, 0, `${what} has no empty mark`);
          if (c.id.startsWith('tradeoff')) {
            assert.equal(c.lines, data.tradeoffs.length, `${what}: one line per policy kind`);
            assert.equal(c.symbols, points + (data.policy === null ? 0 : 1), `${what}: every point, plus the operating point`);
          } else if (c.id === 'exit-histogram') {
            assert.equal(c.rects, 2 * K, `${what}: right and wrong bars per exit`);
            assert.equal(c.labels, K, `${what}: one label per exit`);
          } else {
            const e = data.calibration.exits[Number(c.id.split('-')[1])]!;
            const series = data.calibration.source === 'none' ? 1 : 2;
            assert.equal(c.lines, 1 + series, `${what}: the diagonal and the curves`);
            assert.equal(c.symbols, e.before.bins.length + (series === 2 ? e.after.bins.length : 0), `${what}: one marker per non-empty bin`);
          }
        }
        assert.deepEqual(problems, [], name);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });
});
