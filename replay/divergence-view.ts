// What a divergence report shows, whoever computed it (a what-if, or the live read model):
// the overall report, one per UTC day (drift over time), a histogram of the cost deltas and,
// for a policy what-if, the decision flips. The JSON report and the HTML page are this.
import {
  aggregateBy,
  type DivergenceReport,
  type DivergenceSample,
  divergenceKeys,
  divergenceReport,
  type ReportWindow,
} from '../domain/divergence.ts';
import { roundRatios } from '../projections/divergence-wire.ts';
import type { ReplayVerification } from './replay-verification.ts';
import type { PolicyWhatIfReport } from './what-if-policy.ts';
import type { PriceWhatIfTotals } from './what-if-prices.ts';

export interface DayDrift {
  day: string;
  sample_count: number;
  delta_p50: number;
  delta_p90: number;
  kl_divergence: number;
  matching_rate: number;
  drift_alert: boolean;
}

export interface HistogramBin {
  /** Inclusive lower bound, micro-dollars. */
  from: number;
  /** Exclusive upper bound (inclusive for the last bin), micro-dollars. */
  to: number;
  count: number;
}

export interface DivergenceView {
  title: string;
  /** One line on what was compared with what. */
  description: string;
  generatedAt: string;
  report: DivergenceReport | null;
  byDay: DayDrift[];
  deltaHistogram: HistogramBin[];
  prices?: PriceWhatIfTotals & { priceTableVersion: string; priceTableHash: string };
  policy?: PolicyWhatIfReport;
  /** A what-if replayed from an export file: whether the file verified. */
  verification?: ReplayVerification;
}

export const HISTOGRAM_BINS = 20;

/** Equal-width bins over [min, max] of the deltas; one bin when they are all equal. */
export function histogram(values: readonly number[], bins = HISTOGRAM_BINS): HistogramBin[] {
  if (values.length === 0) return [];
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === max) return [{ from: min, to: max, count: values.length }];
  const width = Math.ceil((max - min + 1) / bins);
  const out: HistogramBin[] = Array.from({ length: bins }, (_, i) => ({
    from: min + i * width,
    to: Math.min(min + (i + 1) * width, max),
    count: 0,
  }));
  for (const v of values) out[Math.min(Math.floor((v - min) / width), bins - 1)]!.count++;
  return out.filter((bin) => bin.from <= max);
}

export function dayDrift(groups: ReturnType<typeof aggregateBy>): DayDrift[] {
  return groups.map(({ key, report }) => ({
    day: key,
    sample_count: report.sample_count,
    delta_p50: report.delta_p50,
    delta_p90: report.delta_p90,
    kl_divergence: report.kl_divergence,
    matching_rate: report.matching_rate,
    drift_alert: report.drift_alert,
  }));
}

/** The report over samples (all of them), by day, and the histogram of every sample's delta. */
export function samplesView(
  samples: readonly DivergenceSample[],
  window: ReportWindow,
): Pick<DivergenceView, 'report' | 'byDay' | 'deltaHistogram'> {
  const report = roundRatios(divergenceReport(samples, window));
  const byDay = dayDrift(
    aggregateBy(samples, divergenceKeys.day, (day) => ({ ...window, startDate: day, endDate: day })).map(
      (group) => ({ ...group, report: roundRatios(group.report) }),
    ),
  );
  const deltas = samples.map((s) => s.comparedCostMicros - s.baselineCostMicros);
  return { report, byDay, deltaHistogram: histogram(deltas) };
}

/** The window a set of samples spans: its first instant to just after its last. */
export function windowOfSamples(
  samples: readonly DivergenceSample[],
  source: ReportWindow['source'],
): ReportWindow {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const s of samples) {
    const ms = Date.parse(s.timestamp);
    if (ms < first) first = ms;
    if (ms > last) last = ms;
  }
  if (samples.length === 0) return { startDate: '', endDate: '', source };
  return { startDate: new Date(first).toISOString(), endDate: new Date(last + 1).toISOString(), source };
}
