// The live divergence report as a drift signal for the breaker (issue 18, item 4): the
// estimate-vs-charge samples of the last day (source `actual`), per tenant. Only a report that
// raises drift_alert counts, and its severity is the share of samples the estimate fell short
// of the charge (missSeverity): an estimate above its charge holds budget back but is safe, one
// below it lets a reservation run short. Estimates are v2's (the estimate of record), so the
// signal is about v2. It may disable v2; it never re-enables it (only a canary or an operator).
import { type DivergenceSample, type DriftRules, divergenceReport } from './divergence.ts';
import type { DriftSignal } from './estimator-breaker.ts';
import { missSeverity } from './estimator-canary.ts';

export function liveDriftSignal(
  byTenant: ReadonlyMap<string, readonly DivergenceSample[]>,
  window: { start: string; end: string },
  rules: DriftRules,
): DriftSignal | null {
  let worst: DriftSignal | null = null;
  for (const [tenant, samples] of byTenant) {
    const report = divergenceReport(
      samples,
      { startDate: window.start, endDate: window.end, source: 'actual' },
      rules,
    );
    if (!report.drift_alert) continue;
    const short = samples.filter((sample) => sample.comparedCostMicros > sample.baselineCostMicros).length;
    const shortShare = short / samples.length;
    const severity = missSeverity(shortShare);
    if (!severity || (worst && worst.metrics.shortShare! >= shortShare)) continue;
    worst = {
      source: 'divergence',
      estimator: 'v2',
      severity,
      reason: `live divergence for tenant ${tenant}: drift alert, v2 below the charge on ${Math.round(shortShare * 100)} % of ${samples.length} samples (${severity})`,
      metrics: {
        samples: samples.length,
        shortShare,
        klDivergence: report.kl_divergence,
        matchingRate: report.matching_rate,
        deltaP90Micros: report.delta_p90,
      },
    };
  }
  return worst;
}
