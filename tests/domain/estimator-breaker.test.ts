// The drift breaker, the dataset versions and the canary's judgement, given/when/then.
import { describe, expect, it } from 'vitest';
import {
  type BreakerEvent,
  basisOf,
  breakerDecider,
  type DriftSignal,
} from '../../domain/estimator-breaker.ts';
import { judgeCanary, missSeverity } from '../../domain/estimator-canary.ts';
import type { EstimatorDataset } from '../../domain/estimator-dataset.ts';
import { type DatasetUploadEvent, datasetVersionsDecider } from '../../domain/estimator-dataset-versions.ts';
import { liveDriftSignal } from '../../domain/estimator-live-drift.ts';
import { canonicalHash } from '../../domain/hashing.ts';
import { defaultPriceTable, withPriceTableHash } from '../../domain/pricing.ts';
import { deciderSpec } from './spec.ts';

const at = '2030-01-01T00:00:00.000Z';
const policy = { minSeverity: 'P2' as const, autoRecovery: false };
const signal = (estimator: 'v1' | 'v2', severity: DriftSignal['severity']): DriftSignal => ({
  source: 'canary',
  estimator,
  severity,
  reason: `${estimator} ${severity ?? 'sound'}`,
  metrics: { withinTolerance: 0.1 },
});
const disabled = (estimator: 'v1' | 'v2', severity: 'P1' | 'P2' | 'P3' = 'P1'): BreakerEvent => ({
  type: 'EstimatorDisabled',
  data: { estimator, reason: 'drift', source: 'canary', severity, metrics: {}, at },
});

describe('drift breaker', () => {
  const spec = deciderSpec(breakerDecider);

  it('disables an estimator in service at the policy severity or worse, not below it', () => {
    spec
      .given([])
      .when({ type: 'ApplySignals', signals: [signal('v2', 'P1'), signal('v1', 'P3')], policy, at })
      .then([
        {
          type: 'EstimatorDisabled',
          data: {
            estimator: 'v2',
            reason: 'v2 P1',
            source: 'canary',
            severity: 'P1',
            metrics: { withinTolerance: 0.1 },
            at,
          },
        },
      ]);
  });

  it('does not disable twice, nor recover without auto-recovery', () => {
    spec
      .given([disabled('v2')])
      .when({ type: 'ApplySignals', signals: [signal('v2', 'P1')], policy, at })
      .thenNothing();
    spec
      .given([disabled('v2')])
      .when({ type: 'ApplySignals', signals: [signal('v2', null)], policy, at })
      .thenNothing();
  });

  it('recovers on a sound canary when the policy allows it; a divergence signal never recovers', () => {
    spec
      .given([disabled('v2')])
      .when({
        type: 'ApplySignals',
        signals: [signal('v2', null)],
        policy: { ...policy, autoRecovery: true },
        at,
      })
      .thenMatches([{ type: 'EstimatorEnabled', data: { estimator: 'v2', source: 'canary' } }]);
    spec
      .given([disabled('v2')])
      .when({
        type: 'ApplySignals',
        signals: [{ ...signal('v2', null), source: 'divergence' }],
        policy: { ...policy, autoRecovery: true },
        at,
      })
      .thenNothing();
  });

  it('an operator re-enables a disabled estimator; an enabled one is left alone', () => {
    spec
      .given([disabled('v1')])
      .when({ type: 'Enable', estimator: 'v1', reason: 'fixed', at })
      .then([
        { type: 'EstimatorEnabled', data: { estimator: 'v1', reason: 'fixed', source: 'operator', at } },
      ]);
    spec.given([]).when({ type: 'Enable', estimator: 'v1', reason: 'fixed', at }).thenNothing();
  });

  it('relies on v2, on v1 when v2 is out, and on v2 with a note when both are', () => {
    const fold = (events: BreakerEvent[]) =>
      events.reduce(breakerDecider.evolve, breakerDecider.initialState());
    expect(basisOf(fold([]))).toEqual({ estimator: 'v2' });
    expect(basisOf(fold([disabled('v2')]))).toEqual({
      estimator: 'v1',
      note: 'v2 is disabled by the drift breaker: drift',
    });
    expect(basisOf(fold([disabled('v2'), disabled('v1')])).estimator).toBe('v2');
  });
});

describe('dataset versions', () => {
  const spec = deciderSpec(datasetVersionsDecider);
  const dataset = {
    name: 'mine',
    version: 2,
    kind: 'mixed_workload',
    description: 'd',
    thresholds: { medianAbsErrorMicros: 1, p90AbsErrorMicros: 1, maxKl: 1, minWithinTolerance: 0.5 },
    expectedVerdicts: { v1: 'pass', v2: 'pass' },
    samples: [
      {
        id: 's',
        steps: [{ skill: 'json_transform', input: {} }],
        expected: { minMicros: 0, maxMicros: 0, feasible: true },
        tags: [],
      },
    ],
  } satisfies EstimatorDataset;
  const uploaded = (d: EstimatorDataset): DatasetUploadEvent => ({
    type: 'EstimatorDatasetUploaded',
    data: { hash: canonicalHash(d), dataset: d },
  });

  it('records a new version, ignores the same one again, refuses other content or a lower version naming version', () => {
    spec
      .given([])
      .when({ type: 'UploadDataset', dataset })
      .then([uploaded(dataset)]);
    spec
      .given([uploaded(dataset)])
      .when({ type: 'UploadDataset', dataset })
      .thenNothing();
    const other = { ...dataset, description: 'other' };
    const refused = spec
      .given([uploaded(dataset)])
      .when({ type: 'UploadDataset', dataset: other })
      .thenThrows('INVALID_INPUT');
    expect(refused.details).toMatchObject({ issues: [{ path: ['version'] }] });
    spec
      .given([uploaded(dataset)])
      .when({ type: 'UploadDataset', dataset: { ...other, version: 1 } })
      .thenThrows('INVALID_INPUT', /above the latest version of mine, 2/);
  });
});

describe('canary judgement', () => {
  const priceTable = withPriceTableHash(defaultPriceTable);
  const call = { skill: 'llm_invoke', input: { model: 'gpt-4o', prompt: 'x'.repeat(4000), maxTokens: 1000 } };
  // v2 estimates this call at 12,500 micros; a run charged 10,000 is inside [charge, 2 × charge].
  const run = (runId: string, chargedMicros: number) => ({
    runId,
    tenantId: 'acme',
    steps: [call],
    budgetMicros: 1_000_000,
    chargedMicros,
  });
  const input = (sample: ReturnType<typeof run>[]) => ({
    canaryId: 'c1',
    trigger: 'on_demand' as const,
    window: { from: at, to: at },
    candidates: sample.length,
    sample,
    priceTable,
    datasets: [],
    at,
  });

  it('severity follows the share of runs missed', () => {
    expect([0.1, 0.2, 0.5, 0.79, 0.8, 1].map(missSeverity)).toEqual([null, 'P3', 'P2', 'P2', 'P1', 'P1']);
  });

  it('passes when v2 lands in [charge, 2 × charge]; fails P1 when every charge is far from it', () => {
    const sound = judgeCanary(input([run('a', 10_000), run('b', 12_000)]));
    expect(sound).toMatchObject({ verdict: 'pass', severity: { v2: null } });
    // Charged a tenth of the estimate: v2 overestimates by far more than the headroom.
    const drifting = judgeCanary(input([run('a', 1_000), run('b', 1_200)]));
    expect(drifting).toMatchObject({ verdict: 'fail', severity: { v2: 'P1' } });
    expect(drifting.reasons[0]).toMatch(/^v2 missed 100 % of the sampled runs' charges \(P1\)/);
  });
});

describe('live divergence as a drift signal', () => {
  const window = { start: '2030-01-01T00:00:00.000Z', end: '2030-01-02T00:00:00.000Z' };
  const samples = (count: number, estimate: number, charged: (n: number) => number) =>
    Array.from({ length: count }, (_, n) => ({
      timestamp: `2030-01-01T${String(n % 24).padStart(2, '0')}:00:00.000Z`,
      inputHash: n.toString(16).padStart(16, '0'),
      baselineCostMicros: estimate,
      comparedCostMicros: charged(n),
    }));

  it('is a v2 signal at the share of samples charged above their estimate, when the report alerts', () => {
    // 9 in 10 charged twice the estimate: the report alerts, 90 % fell short: P1.
    const short = liveDriftSignal(
      new Map([['acme', samples(30, 1_000, (n) => (n % 10 === 0 ? 1_000 : 2_000))]]),
      window,
      {
        minSamples: 20,
      },
    );
    expect(short).toMatchObject({ source: 'divergence', estimator: 'v2', severity: 'P1' });
    expect(short!.reason).toMatch(
      /^live divergence for tenant acme: drift alert, v2 below the charge on 90 % of 30 samples/,
    );
  });

  it('is nothing when the estimates are above the charges, or when the report does not alert', () => {
    // Every estimate far above its charge: the report alerts, but nothing ran short.
    expect(
      liveDriftSignal(new Map([['acme', samples(30, 10_000, () => 1_000)]]), window, { minSamples: 20 }),
    ).toBeNull();
    // Too few samples to alert at all.
    expect(
      liveDriftSignal(new Map([['acme', samples(5, 1_000, () => 2_000)]]), window, { minSamples: 20 }),
    ).toBeNull();
  });
});
