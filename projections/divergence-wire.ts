// The wire shapes of the divergence report, apart from its statistics (domain/divergence.ts):
// the original AOS `GET /costsim/divergence` shape in cents, and the rounding of ratios that
// routes apply for stable, readable JSON (a presentation step, never used in the math).
import type { DivergenceReport, DivergenceVerdict } from '../domain/divergence.ts';
import { MICROS_PER_CENT } from '../domain/money.ts';

export const RATIO_DECIMALS = 6;

/** `GET /costsim/divergence` as the original AOS answered it; costs in cents. */
export interface LegacyDetailedSample {
  timestamp: string;
  input_hash: string;
  v1_cost_cents: number;
  v2_cost_cents: number;
  cost_delta_cents: number;
  drift_score: number;
  verdict: DivergenceVerdict;
}

export interface LegacyDivergenceReport {
  start_date: string;
  end_date: string;
  version: string;
  sample_count: number;
  /** cents */
  delta_p50: number;
  /** cents */
  delta_p90: number;
  kl_divergence: number;
  outlier_count: number;
  fail_ratio: number;
  matching_rate: number;
  detailed_samples: LegacyDetailedSample[];
}

/**
 * Micro-dollars to cents: micros / 10,000, a FRACTIONAL number (at most 4 decimals, e.g.
 * 12,345 µ$ → 1.2345¢). The original reported integer cents, but our figures are finer than
 * a cent, and rounding would invent deltas (or hide them); the division of an integer by
 * 10,000 is correctly rounded, so JSON shows the exact decimal.
 */
export function microsToCents(micros: number): number {
  return micros / MICROS_PER_CENT;
}

/**
 * The original AOS `GET /costsim/divergence` shape: baseline → `v1_cost_cents`, compared →
 * `v2_cost_cents`, costs and delta percentiles in (fractional) cents, no `source` and no
 * `drift_alert`. `version` stands where the original put its cost-model version; it defaults
 * to 'v2' (the estimator compared against v1) and a caller may pass its own.
 */
export function legacyDivergenceReport(
  report: DivergenceReport,
  options: { version?: string } = {},
): LegacyDivergenceReport {
  return {
    start_date: report.start_date,
    end_date: report.end_date,
    version: options.version ?? 'v2',
    sample_count: report.sample_count,
    delta_p50: microsToCents(report.delta_p50),
    delta_p90: microsToCents(report.delta_p90),
    kl_divergence: report.kl_divergence,
    outlier_count: report.outlier_count,
    fail_ratio: report.fail_ratio,
    matching_rate: report.matching_rate,
    detailed_samples: report.detailed_samples.map((s) => ({
      timestamp: s.timestamp,
      input_hash: s.input_hash,
      v1_cost_cents: microsToCents(s.baseline_cost),
      v2_cost_cents: microsToCents(s.compared_cost),
      cost_delta_cents: microsToCents(s.cost_delta),
      drift_score: s.drift_score,
      verdict: s.verdict,
    })),
  };
}

/** `value` rounded to `decimals` places (a presentation step; never used in the math). */
export function roundRatio(value: number, decimals: number = RATIO_DECIMALS): number {
  return Number(value.toFixed(decimals));
}

interface RatioFields {
  kl_divergence: number;
  fail_ratio: number;
  matching_rate: number;
  detailed_samples: Array<{ drift_score: number }>;
}

/**
 * A copy of a report (ours or the legacy shape) with its ratios — kl_divergence,
 * fail_ratio, matching_rate and each drift_score — rounded to RATIO_DECIMALS places, for a
 * route's JSON. Counts and money are untouched.
 */
export function roundRatios<R extends RatioFields>(report: R, decimals: number = RATIO_DECIMALS): R {
  return {
    ...report,
    kl_divergence: roundRatio(report.kl_divergence, decimals),
    fail_ratio: roundRatio(report.fail_ratio, decimals),
    matching_rate: roundRatio(report.matching_rate, decimals),
    detailed_samples: report.detailed_samples.map((s) => ({
      ...s,
      drift_score: roundRatio(s.drift_score, decimals),
    })),
  } as R;
}
