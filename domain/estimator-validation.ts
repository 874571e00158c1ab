// Validation of the cost estimators against reference datasets (issue 18, item 2): run v1
// and v2 on every sample, measure how far each lands from the expected range and judge the
// dataset's thresholds. Pure, and given the price table rather than reading one, so the
// CLI, the admin route and a later daily canary all call the same function.

import { deltaPercentiles, klDivergence } from './divergence.ts';
import { estimatePlan } from './estimate.ts';
import {
  type DatasetThresholds,
  type EstimatorDataset,
  type EstimatorName,
  estimatorNames,
} from './estimator-dataset.ts';
import type { PriceTable } from './pricing.ts';

/** How many of the worst samples a report lists per estimator. */
export const WORST_SAMPLES = 5;

export interface SampleResult {
  id: string;
  tags: string[];
  estimateMicros: number;
  expectedMinMicros: number;
  expectedMaxMicros: number;
  /** Distance from the estimate to the expected range: 0 inside it. */
  errorMicros: number;
  feasible: boolean;
  expectedFeasible: boolean;
}

export interface ValidationMetrics {
  samples: number;
  medianAbsErrorMicros: number;
  p90AbsErrorMicros: number;
  kl: number;
  withinTolerance: number;
  feasibilityAgreement: number;
}

export interface ThresholdVerdict {
  threshold: keyof DatasetThresholds;
  limit: number;
  value: number;
  pass: boolean;
}

export interface EstimatorResult {
  estimator: EstimatorName;
  verdict: 'pass' | 'fail';
  /** Whether the verdict is the one the dataset expects (a known-bad estimator must fail). */
  asExpected: boolean;
  metrics: ValidationMetrics;
  thresholds: ThresholdVerdict[];
  worst: SampleResult[];
  /** Every sample, for charts; callers that only want the verdict may drop it. */
  samples: SampleResult[];
}

export interface DatasetValidation {
  dataset: string;
  version: number;
  kind: EstimatorDataset['kind'];
  priceTableVersion: string;
  estimators: EstimatorResult[];
}

function distanceToRange(value: number, min: number, max: number): number {
  if (value < min) return min - value;
  if (value > max) return value - max;
  return 0;
}

function sampleResults(
  dataset: EstimatorDataset,
  priceTable: PriceTable,
): Record<EstimatorName, SampleResult[]> {
  const results: Record<EstimatorName, SampleResult[]> = { v1: [], v2: [] };
  for (const sample of dataset.samples) {
    const options =
      sample.budgetMicros === undefined ? { priceTable } : { priceTable, maxCostMicros: sample.budgetMicros };
    const estimates = estimatePlan(sample.steps, options);
    for (const name of estimatorNames) {
      const estimate = estimates[name];
      results[name].push({
        id: sample.id,
        tags: sample.tags,
        estimateMicros: estimate.costMicros,
        expectedMinMicros: sample.expected.minMicros,
        expectedMaxMicros: sample.expected.maxMicros,
        errorMicros: distanceToRange(
          estimate.costMicros,
          sample.expected.minMicros,
          sample.expected.maxMicros,
        ),
        feasible: estimate.feasible,
        expectedFeasible: sample.expected.feasible,
      });
    }
  }
  return results;
}

/**
 * The nearest acceptable figure: the estimate itself when inside its range, else the bound it
 * missed. KL compares the estimates with these, so it measures how much the misses distort the
 * shape of the cost distribution — 0 when every estimate is inside. (Against the range's
 * midpoint, an estimator meant to land at the top of its ranges, as v2 does by reserving
 * maxTokens, would be judged off-shape without a single miss.)
 */
function nearestAcceptable(result: SampleResult): number {
  return Math.min(Math.max(result.estimateMicros, result.expectedMinMicros), result.expectedMaxMicros);
}

export function validationMetrics(results: readonly SampleResult[]): ValidationMetrics {
  const { p50, p90 } = deltaPercentiles(results.map((result) => result.errorMicros));
  const share = (count: number) => (results.length === 0 ? 0 : count / results.length);
  return {
    samples: results.length,
    medianAbsErrorMicros: p50,
    p90AbsErrorMicros: p90,
    kl: klDivergence(
      results.map(nearestAcceptable),
      results.map((result) => result.estimateMicros),
    ),
    withinTolerance: share(results.filter((result) => result.errorMicros === 0).length),
    feasibilityAgreement: share(
      results.filter((result) => result.feasible === result.expectedFeasible).length,
    ),
  };
}

export function thresholdVerdicts(
  metrics: ValidationMetrics,
  thresholds: DatasetThresholds,
): ThresholdVerdict[] {
  const atMost = (threshold: keyof DatasetThresholds, value: number) => ({
    threshold,
    limit: thresholds[threshold],
    value,
    pass: value <= thresholds[threshold],
  });
  return [
    atMost('medianAbsErrorMicros', metrics.medianAbsErrorMicros),
    atMost('p90AbsErrorMicros', metrics.p90AbsErrorMicros),
    atMost('maxKl', metrics.kl),
    {
      threshold: 'minWithinTolerance',
      limit: thresholds.minWithinTolerance,
      value: metrics.withinTolerance,
      pass: metrics.withinTolerance >= thresholds.minWithinTolerance,
    },
  ];
}

/** Largest error first; ties by id so the list is the same whatever the sample order. */
function worstOf(results: readonly SampleResult[]): SampleResult[] {
  return [...results]
    .sort((x, y) => y.errorMicros - x.errorMicros || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
    .slice(0, WORST_SAMPLES);
}

export function validateDataset(dataset: EstimatorDataset, priceTable: PriceTable): DatasetValidation {
  const results = sampleResults(dataset, priceTable);
  return {
    dataset: dataset.name,
    version: dataset.version,
    kind: dataset.kind,
    priceTableVersion: priceTable.version,
    estimators: estimatorNames.map((estimator) => {
      const metrics = validationMetrics(results[estimator]);
      const thresholds = thresholdVerdicts(metrics, dataset.thresholds);
      const verdict = thresholds.every((check) => check.pass) ? 'pass' : 'fail';
      return {
        estimator,
        verdict,
        asExpected: verdict === dataset.expectedVerdicts[estimator],
        metrics,
        thresholds,
        worst: worstOf(results[estimator]),
        samples: results[estimator],
      };
    }),
  };
}
