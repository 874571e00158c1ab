// The divergence report as one self-contained HTML page: inline CSS and SVG charts drawn
// here, no script and nothing fetched, so it reads the same offline, in a mail attachment or
// an archive years later. Pure: a DivergenceView in, a string out.
import { microsToCents } from '../projections/divergence-wire.ts';
import type { DayDrift, DivergenceView, HistogramBin } from './divergence-view.ts';
import type { PolicyWhatIfReport } from './what-if-policy.ts';

const esc = (value: unknown) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Micro-dollars as dollars with up to 6 decimals, e.g. 1234 → "$0.001234". */
export function dollars(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  return `${sign}$${Math.floor(abs / 1_000_000)}.${String(abs % 1_000_000).padStart(6, '0')}`;
}

const W = 720;
const H = 260;
const PAD = { left: 64, right: 48, top: 24, bottom: 56 };

interface Bar {
  label: string;
  value: number;
  color?: string;
  title?: string;
}

function barChart(bars: readonly Bar[], yLabel: string): string {
  if (bars.length === 0) return '<p class="empty">nothing to chart</p>';
  const max = Math.max(1, ...bars.map((b) => b.value));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / bars.length;
  const width = Math.min(60, Math.max(1, step * 0.8));
  const rects = bars
    .map((bar, i) => {
      const h = (bar.value / max) * plotH;
      const x = PAD.left + i * step + (step - width) / 2;
      const y = PAD.top + plotH - h;
      const labelX = x + width / 2;
      const label =
        bars.length <= 24
          ? `<text class="tick" transform="translate(${labelX.toFixed(1)},${PAD.top + plotH + 12}) rotate(30)">${esc(bar.label)}</text>`
          : '';
      return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${width.toFixed(1)}" height="${h.toFixed(1)}" fill="${bar.color ?? '#4e79a7'}"><title>${esc(bar.title ?? `${bar.label}: ${bar.value}`)}</title></rect>${label}`;
    })
    .join('');
  return svg(`${axes(max, plotH, yLabel)}${rects}`);
}

function lineChart(
  days: readonly DayDrift[],
  series: { name: string; color: string; value: (d: DayDrift) => number }[],
  yLabel: string,
): string {
  if (days.length === 0) return '<p class="empty">nothing to chart</p>';
  const max = Math.max(1, ...days.flatMap((d) => series.map((s) => s.value(d))));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (days.length === 1 ? plotW / 2 : (i / (days.length - 1)) * plotW);
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const lines = series
    .map((s) => {
      const points = days.map((d, i) => `${x(i).toFixed(1)},${y(s.value(d)).toFixed(1)}`).join(' ');
      const dots = days
        .map(
          (d, i) =>
            `<circle cx="${x(i).toFixed(1)}" cy="${y(s.value(d)).toFixed(1)}" r="3.5" fill="${d.drift_alert ? '#e15759' : s.color}"><title>${esc(`${d.day} ${s.name}: ${s.value(d)}${d.drift_alert ? ' (drift alert)' : ''}`)}</title></circle>`,
        )
        .join('');
      return `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${points}"/>${dots}`;
    })
    .join('');
  const every = Math.max(1, Math.ceil(days.length / 12));
  const ticks = days
    .map((d, i) =>
      i % every === 0
        ? `<text class="tick" transform="translate(${x(i).toFixed(1)},${PAD.top + plotH + 12}) rotate(30)">${esc(d.day)}</text>`
        : '',
    )
    .join('');
  const legend = series
    .map(
      (s, i) =>
        `<rect x="${PAD.left + 10 + i * 150}" y="4" width="12" height="12" fill="${s.color}"/><text x="${PAD.left + 28 + i * 150}" y="15" class="legend">${esc(s.name)}</text>`,
    )
    .join('');
  return svg(`${axes(max, plotH, yLabel)}${lines}${ticks}${legend}`);
}

function axes(max: number, plotH: number, yLabel: string): string {
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const y = PAD.top + plotH - f * plotH;
      const v = max * f;
      const text = Number.isInteger(v) ? String(v) : v.toFixed(2);
      return `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" class="grid"/><text x="${PAD.left - 6}" y="${(y + 4).toFixed(1)}" class="ytick">${esc(text)}</text>`;
    })
    .join('');
  return `${ticks}<text class="ylabel" transform="translate(12,${PAD.top + plotH / 2}) rotate(-90)">${esc(yLabel)}</text>`;
}

function svg(body: string): string {
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" xmlns="http://www.w3.org/2000/svg">${body}</svg>`;
}

function histogramChart(bins: readonly HistogramBin[]): string {
  return barChart(
    bins.map((bin) => ({
      label: `${microsToCents(bin.from)}¢`,
      value: bin.count,
      color: bin.to <= 0 && bin.from < 0 ? '#59a14f' : bin.from > 0 ? '#e15759' : '#4e79a7',
      title: `${dollars(bin.from)} … ${dollars(bin.to)}: ${bin.count}`,
    })),
    'samples',
  );
}

function table(head: string[], rows: unknown[][]): string {
  if (rows.length === 0) return '<p class="empty">none</p>';
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((row) => `<tr>${row.map((cell) => `<td>${esc(cell)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function policySection(policy: PolicyWhatIfReport): string {
  const transitions = Object.entries(policy.byTransition).map(([label, value]) => ({
    label,
    value,
    color: label.endsWith('→deny') ? '#e15759' : label.endsWith('→allow') ? '#59a14f' : '#f28e2b',
  }));
  return `<section><h2>Decision flips</h2>
<p>Policy ${esc(policy.policyVersion)} (<code>${esc(policy.policyHash.slice(0, 16))}</code>): ${policy.flips} of ${policy.decisions} decisions flip.</p>
${barChart(transitions, 'decisions')}
<h3>By rule</h3>
${table(
  ['recorded rule', 'what-if rule', 'from', 'to', 'count'],
  policy.byRule.map((r) => [r.recordedRule, r.whatIfRule, r.from, r.to, r.count]),
)}
<h3>Over time</h3>
${barChart(
  policy.byDay.map((d) => ({
    label: d.day,
    value: d.flips,
    title: `${d.day}: ${d.flips} of ${d.decisions} flip`,
  })),
  'flips',
)}
</section>`;
}

/** A replay of an export that did not verify says so first, in words a reader cannot miss. */
function verificationBanner(view: DivergenceView): string {
  const v = view.verification;
  if (!v || v.verified) return '';
  const items = v.problems
    .map(
      (p) =>
        `<li>${esc(p.line === null ? 'manifest' : `line ${p.line}`)}: ${esc(p.kind)}: ${esc(p.message)}</li>`,
    )
    .join('');
  return `<div class="unverified"><strong>UNVERIFIED</strong>: the export does not verify (${v.problemCount} problems); it was replayed because --unverified was given, so nothing here is certified by the record.<ul>${items}</ul></div>\n`;
}

export function renderDivergenceHtml(view: DivergenceView): string {
  const r = view.report;
  const summary = r
    ? table(
        [
          'samples',
          'delta p50',
          'delta p90',
          'KL divergence',
          'outliers',
          'fail ratio',
          'matching rate',
          'drift alert',
        ],
        [
          [
            r.sample_count,
            dollars(r.delta_p50),
            dollars(r.delta_p90),
            r.kl_divergence,
            r.outlier_count,
            r.fail_ratio,
            r.matching_rate,
            r.drift_alert ? 'YES' : 'no',
          ],
        ],
      )
    : '';
  const prices = view.prices
    ? `<p>Price table ${esc(view.prices.priceTableVersion)} (<code>${esc(view.prices.priceTableHash.slice(0, 16))}</code>): ${view.prices.charges} charges, recorded ${dollars(view.prices.recordedMicros)}, what-if ${dollars(view.prices.whatIfMicros)}, delta <b>${dollars(view.prices.deltaMicros)}</b>.</p>`
    : '';
  const costSections = r
    ? `<section><h2>Cost-delta histogram</h2><p>compared − baseline per sample</p>${histogramChart(view.deltaHistogram)}</section>
<section><h2>Drift over time</h2><p>absolute delta percentiles per UTC day, micro-dollars; red points: days with a drift alert</p>
${lineChart(
  view.byDay,
  [
    { name: 'delta p50', color: '#4e79a7', value: (d) => d.delta_p50 },
    { name: 'delta p90', color: '#f28e2b', value: (d) => d.delta_p90 },
  ],
  'micro-dollars',
)}
${table(
  ['day', 'samples', 'delta p50', 'delta p90', 'KL', 'matching rate', 'drift alert'],
  view.byDay.map((d) => [
    d.day,
    d.sample_count,
    dollars(d.delta_p50),
    dollars(d.delta_p90),
    d.kl_divergence,
    d.matching_rate,
    d.drift_alert ? 'YES' : 'no',
  ]),
)}
</section>
<section><h2>Newest samples</h2>${table(
        ['time', 'input hash', 'baseline', 'compared', 'delta', 'drift', 'verdict'],
        r.detailed_samples
          .slice(0, 25)
          .map((s) => [
            s.timestamp,
            s.input_hash,
            dollars(s.baseline_cost),
            dollars(s.compared_cost),
            dollars(s.cost_delta),
            s.drift_score,
            s.verdict,
          ]),
      )}</section>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(view.title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:780px;color:#222}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}h3{font-size:14px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}.muted{color:#777}.empty{color:#999;font-style:italic}
.unverified{border:2px solid #c0392b;background:#fdecea;padding:8px 12px;margin:12px 0}
svg{display:block;margin:8px 0}.grid{stroke:#eee}.tick,.ytick,.legend{font-size:10px;fill:#555}.ytick{text-anchor:end}.ylabel{font-size:11px;fill:#555;text-anchor:middle}
</style></head><body>
<h1>${esc(view.title)}</h1>
${verificationBanner(view)}<p class="muted">${esc(view.description)} — generated ${esc(view.generatedAt)}</p>
${prices}${summary}${costSections}${view.policy ? policySection(view.policy) : ''}
</body></html>
`;
}
