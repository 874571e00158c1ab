// The divergence report as one self-contained HTML page: inline CSS and SVG charts
// (replay/svg-charts.ts), no script and nothing fetched, so it reads the same offline, in a mail attachment or
// an archive years later. Pure: a DivergenceView in, a string out.
import { microsToCents } from '../projections/divergence-wire.ts';
import type { DayDrift, DivergenceView, HistogramBin } from './divergence-view.ts';
import { axes, barChart, dollars, esc, H, legend, PAD, PAGE_STYLE, svg, table, W } from './svg-charts.ts';
import type { PolicyWhatIfReport } from './what-if-policy.ts';

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
  return svg(`${axes(max, plotH, yLabel)}${lines}${ticks}${legend(series)}`);
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
<style>${PAGE_STYLE}</style></head><body>
<h1>${esc(view.title)}</h1>
${verificationBanner(view)}<p class="muted">${esc(view.description)} — generated ${esc(view.generatedAt)}</p>
${prices}${summary}${costSections}${view.policy ? policySection(view.policy) : ''}
</body></html>
`;
}
