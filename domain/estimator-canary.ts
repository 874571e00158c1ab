// The estimator canary's judgement (issue 18, item 3), pure: a sample of the last day's runs
// re-estimated by v1 and v2 under the price table in force and compared with what they were
// charged (the same test as the historical dataset: a run is right when its estimate is from
// its charge to twice it), plus every reference dataset validated again. Replay calls the same
// function on the inputs a CanaryCompleted recorded and must get the same verdict.
//
// Severity, per estimator, from the share of the sample's runs it missed (its drift):
//   P1 at MISS_P1 or more, P2 at MISS_P2, P3 at MISS_P3 (which is where a historical dataset's
//   minWithinTolerance of 0.8 fails); a reference dataset no longer giving its declared verdict
//   is at least P2 (the estimator changed, or the datasets did). An estimator the historical
//   dataset declares to fail (v1 today: its flat floor is tens of times a cheap call) is not
//   judged on the sample: it missing the charges is what it is known for, not drift.
import type { EstimatorDataset, EstimatorName } from './estimator-dataset.ts';
import { estimatorNames } from './estimator-dataset.ts';
import { type ChargedRun, chargedRunsDataset } from './estimator-history.ts';
import { validateDataset, type validationMetrics } from './estimator-validation.ts';
import type { AosEventData } from './events/catalog.ts';
import type { HashedPriceTable } from './pricing.ts';

export type CanaryReport = AosEventData<'CanaryCompleted'>;
export type CanarySample = CanaryReport['sample'][number];
export type Severity = 'P1' | 'P2' | 'P3';

/** Names the estimators' formulas (domain/estimate.ts); bump one when its formula changes. */
export const ESTIMATOR_VERSIONS = { v1: 'v1-static-table-1', v2: 'v2-token-prices-1' } as const;

export const MISS_P1 = 0.8;
export const MISS_P2 = 0.5;
export const MISS_P3 = 0.2;
/** How far above its charge an estimate still counts as right (as for the historical dataset). */
export const CANARY_HEADROOM = 1;

const SEVERITY_RANK: Record<Severity, number> = { P1: 3, P2: 2, P3: 1 };
export const severityRank = (severity: Severity | null) => (severity ? SEVERITY_RANK[severity] : 0);
const worse = (a: Severity | null, b: Severity | null) => (severityRank(a) >= severityRank(b) ? a : b);

export function missSeverity(missed: number): Severity | null {
  if (missed >= MISS_P1) return 'P1';
  if (missed >= MISS_P2) return 'P2';
  if (missed >= MISS_P3) return 'P3';
  return null;
}

export interface CanaryInput {
  canaryId: string;
  trigger: CanaryReport['trigger'];
  window: CanaryReport['window'];
  candidates: number;
  sample: readonly CanarySample[];
  priceTable: HashedPriceTable;
  datasets: readonly { dataset: EstimatorDataset; hash: string }[];
  at: string;
}

const percent = (share: number) => `${Math.round(share * 100)} %`;

export function judgeCanary(input: CanaryInput): CanaryReport {
  const historical = input.datasets.find((entry) => entry.dataset.kind === 'historical')?.dataset;
  // Without a historical dataset, only v2, the estimate of record, is judged on the sample.
  const expectedLive = historical?.expectedVerdicts ?? { v1: 'fail', v2: 'pass' };
  const runs: ChargedRun[] = input.sample.map(({ tenantId, ...run }) => ({
    ...run,
    tags: [`tenant:${tenantId}`],
  }));
  const live = validateDataset(
    chargedRunsDataset(runs, {
      name: 'canary',
      version: 1,
      description: 'the canary sample',
      headroom: CANARY_HEADROOM,
      expectedVerdicts: expectedLive,
    }),
    input.priceTable,
  );
  const datasets = input.datasets.map(({ dataset, hash }) => {
    const report = validateDataset(dataset, input.priceTable);
    const verdictOf = (name: EstimatorName) => report.estimators.find((result) => result.estimator === name)!;
    return {
      name: dataset.name,
      version: dataset.version,
      hash,
      v1: verdictOf('v1').verdict,
      v2: verdictOf('v2').verdict,
      asExpected: report.estimators.every((result) => result.asExpected),
      results: report.estimators,
    };
  });
  const reasons: string[] = [];
  const severity = { v1: null, v2: null } as Record<EstimatorName, Severity | null>;
  const metrics = {} as Record<EstimatorName, ReturnType<typeof validationMetrics>>;
  for (const name of estimatorNames) {
    const result = live.estimators.find((entry) => entry.estimator === name)!;
    metrics[name] = result.metrics;
    if (input.sample.length > 0 && expectedLive[name] === 'pass') {
      const missed = 1 - result.metrics.withinTolerance;
      const level = missSeverity(missed);
      if (level) reasons.push(`${name} missed ${percent(missed)} of the sampled runs' charges (${level})`);
      severity[name] = level;
    }
    for (const dataset of datasets) {
      const result = dataset.results.find((entry) => entry.estimator === name)!;
      if (!result.asExpected) {
        reasons.push(
          `${name} ${result.verdict}s dataset ${dataset.name} (version ${dataset.version}), declared to ${result.verdict === 'pass' ? 'fail' : 'pass'} (P2 at least)`,
        );
        severity[name] = worse(severity[name], 'P2');
      }
    }
  }
  if (input.sample.length === 0)
    reasons.push('no succeeded run was submitted in the window: only the datasets were judged');
  return {
    canaryId: input.canaryId,
    verdict: estimatorNames.some((name) => severity[name] !== null) ? 'fail' : 'pass',
    trigger: input.trigger,
    window: input.window,
    sample: [...input.sample],
    candidates: input.candidates,
    priceTable: { version: input.priceTable.version, hash: input.priceTable.hash },
    estimatorVersions: { ...ESTIMATOR_VERSIONS },
    metrics: {
      v1: metrics.v1,
      v2: metrics.v2,
      datasets: datasets.map(({ results: _, ...dataset }) => dataset),
    },
    severity,
    reasons,
    at: input.at,
  };
}
