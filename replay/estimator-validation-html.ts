// The estimator validation report (`aos estimators validate --html FILE`) as one self-contained
// HTML page, drawn like the divergence report (replay/svg-charts.ts): per dataset, each
// estimator's verdict and thresholds, the distribution of its errors, its estimates against
// the expected costs, and its worst samples. Pure: reports in, a string out.
import type { DatasetValidation, EstimatorResult, SampleResult } from '../domain/estimator-validation.ts';
import { barChart, dollars, esc, PAGE_STYLE, scatterChart, table } from './svg-charts.ts';

const COLORS = { v1: '#f28e2b', v2: '#4e79a7' } as const;
const ERROR_BINS = 10;

/** Errors in ERROR_BINS equal bins from 0 to the largest; inside-the-range samples are the first bar. */
function errorBars(result: EstimatorResult) {
  const errors = result.samples.map((sample) => sample.errorMicros);
  const inside = errors.filter((error) => error === 0).length;
  const max = Math.max(0, ...errors);
  const width = Math.max(1, Math.ceil(max / ERROR_BINS));
  const counts = new Array<number>(max === 0 ? 0 : ERROR_BINS).fill(0);
  for (const error of errors)
    if (error > 0) counts[Math.min(ERROR_BINS - 1, Math.floor((error - 1) / width))]! += 1;
  return [
    { label: 'inside', value: inside, color: '#59a14f', title: `inside the expected range: ${inside}` },
    ...counts.map((count, bin) => ({
      label: `≤${dollars((bin + 1) * width)}`,
      value: count,
      color: COLORS[result.estimator],
      title: `${dollars(bin * width + 1)} … ${dollars((bin + 1) * width)} off: ${count}`,
    })),
  ];
}

const point = (sample: SampleResult) => ({
  x: Math.floor((sample.expectedMinMicros + sample.expectedMaxMicros) / 2),
  y: sample.estimateMicros,
  title: `${sample.id}: estimate ${dollars(sample.estimateMicros)}, expected ${dollars(sample.expectedMinMicros)} … ${dollars(sample.expectedMaxMicros)}`,
});

function estimatorSection(result: EstimatorResult): string {
  return `<h3>${esc(result.estimator)}: ${result.verdict.toUpperCase()}${result.asExpected ? ' (as expected)' : ' — NOT the expected verdict'}</h3>
${table(
  ['threshold', 'limit', 'value', 'verdict'],
  result.thresholds.map((check) => [
    check.threshold,
    check.limit,
    Number.isInteger(check.value) ? check.value : check.value.toFixed(4),
    check.pass ? 'pass' : 'FAIL',
  ]),
)}
<p>Error distribution (distance from the estimate to the expected range)</p>
${barChart(errorBars(result), 'samples')}
<p>Worst samples</p>
${table(
  ['sample', 'estimate', 'expected min', 'expected max', 'error'],
  result.worst.map((s) => [
    s.id,
    dollars(s.estimateMicros),
    dollars(s.expectedMinMicros),
    dollars(s.expectedMaxMicros),
    dollars(s.errorMicros),
  ]),
)}`;
}

function datasetSection(report: DatasetValidation): string {
  const scatter = scatterChart(
    report.estimators.map((result) => ({
      name: result.estimator,
      color: COLORS[result.estimator],
      points: result.samples.map(point),
    })),
    'expected (range midpoint), micro-dollars',
    'estimate, micro-dollars',
  );
  return `<section><h2>${esc(report.dataset)} v${report.version} (${esc(report.kind)})</h2>
<p>Estimate against expected cost, log scales; the dashed line is estimate = expected.</p>
${scatter}
${report.estimators.map(estimatorSection).join('\n')}
</section>`;
}

export function renderValidationHtml(
  reports: readonly DatasetValidation[],
  meta: { generatedAt: string; priceTableVersion: string },
): string {
  const title = 'AOS estimator validation';
  const summary = table(
    ['dataset', 'estimator', 'verdict', 'expected', 'median error', 'p90 error', 'KL', 'within'],
    reports.flatMap((report) =>
      report.estimators.map((result) => [
        report.dataset,
        result.estimator,
        result.verdict,
        result.asExpected ? 'yes' : 'NO',
        dollars(result.metrics.medianAbsErrorMicros),
        dollars(result.metrics.p90AbsErrorMicros),
        result.metrics.kl.toFixed(4),
        result.metrics.withinTolerance.toFixed(3),
      ]),
    ),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>${PAGE_STYLE}</style></head><body>
<h1>${title}</h1>
<p class="muted">v1 and v2 on ${reports.length} reference datasets under price table ${esc(meta.priceTableVersion)} — generated ${esc(meta.generatedAt)}</p>
${summary}
${reports.map(datasetSection).join('\n')}
</body></html>
`;
}
