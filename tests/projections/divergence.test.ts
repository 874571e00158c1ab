import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  aggregateBy,
  DEFAULT_DRIFT_RULES,
  type DivergenceReport,
  type DivergenceSample,
  type DivergenceVerdict,
  type DriftRules,
  deltaPercentiles,
  divergenceKeys,
  divergenceReport,
  inputHashOf,
  klDivergence,
  MAX_DETAILED_SAMPLES,
  type ReportWindow,
  scoreSample,
} from '../../domain/divergence.ts';
import { canonicalHash } from '../../domain/hashing.ts';
import {
  legacyDivergenceReport,
  microsToCents,
  roundRatio,
  roundRatios,
} from '../../projections/divergence-wire.ts';

const HASH = '0123456789abcdef';
const WINDOW: ReportWindow = { startDate: '2024-05-01', endDate: '2024-05-08', source: 'estimators' };
/** The original CostSim alert, which had no minimum sample count: its triggers tested alone. */
const ORIGINAL_RULES: DriftRules = { minSamples: 1 };
const EPS = 1e-10;

function sample(a: number, b: number, extra: Partial<DivergenceSample> = {}): DivergenceSample {
  return {
    timestamp: '2024-05-02T10:00:00.000Z',
    inputHash: HASH,
    baselineCostMicros: a,
    comparedCostMicros: b,
    ...extra,
  };
}

/** n samples, timestamps one minute apart (index 0 oldest). */
function series(pairs: Array<[number, number, Partial<DivergenceSample>?]>): DivergenceSample[] {
  return pairs.map(([a, b, extra], i) =>
    sample(a, b, { timestamp: new Date(Date.UTC(2024, 4, 2, 10, i)).toISOString(), ...extra }),
  );
}

function verdictOfFloat(drift: number): DivergenceVerdict {
  if (drift <= 0.05) return 'match';
  if (drift <= 0.15) return 'minor';
  if (drift <= 0.3) return 'major';
  return 'mismatch';
}

describe('scoreSample: hand-computed cases', () => {
  it('a = 100, b = 110: delta 10, pct 10/100 = 0.1, drift 0.6 × 0.1 = 0.06 → minor', () => {
    expect(scoreSample(sample(100, 110))).toEqual({
      costDelta: 10,
      pct: 0.1,
      driftScore: 0.06,
      verdict: 'minor',
    });
  });

  it('a = 1000, b = 700: delta −300 (signed), pct 300/1000 = 0.3, drift 0.6 × 0.3 = 0.18 → major', () => {
    expect(scoreSample(sample(1000, 700))).toEqual({
      costDelta: -300,
      pct: 0.3,
      driftScore: 0.18,
      verdict: 'major',
    });
  });

  it('a = 100, b = 300: pct 200/100 = 2 (not capped), drift 0.6 × min(2, 1) = 0.6 → mismatch', () => {
    expect(scoreSample(sample(100, 300))).toEqual({
      costDelta: 200,
      pct: 2,
      driftScore: 0.6,
      verdict: 'mismatch',
    });
  });

  it('a = b = 100 but feasibility differs: pct 0, drift 0.6 × 0 + 0.4 × 1 = 0.4 → mismatch', () => {
    const score = scoreSample(sample(100, 100, { baselineFeasible: true, comparedFeasible: false }));
    expect(score).toEqual({ costDelta: 0, pct: 0, driftScore: 0.4, verdict: 'mismatch' });
  });

  it('a = 100, b = 110, feasibility differs: drift 0.06 + 0.4 = 0.46', () => {
    expect(scoreSample(sample(100, 110, { baselineFeasible: false })).driftScore).toBeCloseTo(0.46, 15);
  });

  it('a missing feasibility flag counts as feasible', () => {
    // undefined ~ true vs false → differs; undefined vs true → same.
    expect(scoreSample(sample(5, 5, { comparedFeasible: false })).driftScore).toBe(0.4);
    expect(scoreSample(sample(5, 5, { comparedFeasible: true })).driftScore).toBe(0);
    expect(scoreSample(sample(5, 5, { baselineFeasible: false, comparedFeasible: false })).driftScore).toBe(
      0,
    );
  });

  it('identical costs: delta 0, pct 0, drift 0 → match', () => {
    expect(scoreSample(sample(4242, 4242))).toEqual({
      costDelta: 0,
      pct: 0,
      driftScore: 0,
      verdict: 'match',
    });
  });

  describe('zero baseline (the original counted a = 0 as a match whatever b was; fixed)', () => {
    it('a = 0, b = 0: pct 0, drift 0 → match', () => {
      expect(scoreSample(sample(0, 0))).toEqual({ costDelta: 0, pct: 0, driftScore: 0, verdict: 'match' });
    });

    it('a = 0, b = 5: pct 1, drift 0.6 × 1 = 0.6 → mismatch, not a match', () => {
      expect(scoreSample(sample(0, 5))).toEqual({
        costDelta: 5,
        pct: 1,
        driftScore: 0.6,
        verdict: 'mismatch',
      });
    });

    it('a = 0, b = 1 (one micro-dollar): still pct 1 → mismatch', () => {
      expect(scoreSample(sample(0, 1)).verdict).toBe('mismatch');
    });

    it('a = 0, b = 1, feasibility differs: drift 0.6 + 0.4 = 1', () => {
      expect(scoreSample(sample(0, 1, { comparedFeasible: false })).driftScore).toBe(1);
    });

    it('a = 5, b = 0: pct 5/5 = 1, drift 0.6 → mismatch', () => {
      expect(scoreSample(sample(5, 0))).toEqual({
        costDelta: -5,
        pct: 1,
        driftScore: 0.6,
        verdict: 'mismatch',
      });
    });

    it('a zero baseline in a report is not counted as matching', () => {
      const report = divergenceReport(series([[0, 500]]), WINDOW);
      expect(report.matching_rate).toBe(0);
      expect(report.outlier_count).toBe(1); // drift 0.6 > 0.5
      expect(report.detailed_samples[0]?.verdict).toBe('mismatch');
    });
  });

  it('refuses costs that are not non-negative integer micro-dollars', () => {
    expect(() => scoreSample(sample(-1, 0))).toThrow(/micro-dollars/);
    expect(() => scoreSample(sample(1, 1.5))).toThrow(/micro-dollars/);
    expect(() => scoreSample(sample(Number.NaN, 1))).toThrow(/micro-dollars/);
  });
});

describe('verdict thresholds, exactly at and around each boundary', () => {
  it('0.05: a = 12, b = 13 → pct 1/12, drift 0.6/12 = 0.05 exactly → match', () => {
    // The naive float product 0.6 × (1/12) is 0.049999999999999996; the exact fraction is 1/20.
    expect(scoreSample(sample(12, 13))).toMatchObject({ driftScore: 0.05, verdict: 'match' });
    expect(scoreSample(sample(12, 11))).toMatchObject({ driftScore: 0.05, verdict: 'match' });
  });

  it('0.05: one micro-dollar either side', () => {
    // a = 1,000,000; 0.05 = 0.6 × m / a ⇔ m = 83,333.3…
    // m = 83,333 → drift 0.0499998 (match); m = 83,334 → drift 0.0500004 (minor)
    expect(scoreSample(sample(1_000_000, 1_083_333)).verdict).toBe('match');
    expect(scoreSample(sample(1_000_000, 1_083_334)).verdict).toBe('minor');
    expect(scoreSample(sample(1_000_000, 1_083_334)).driftScore).toBeCloseTo(0.0500004, 15);
  });

  it('0.15: a = 4, b = 5 → pct 0.25, drift 0.15 exactly → minor; a = 400, b = 501 → 0.6 × 0.2525 = 0.1515 → major', () => {
    expect(scoreSample(sample(4, 5))).toMatchObject({ driftScore: 0.15, verdict: 'minor' });
    expect(scoreSample(sample(4, 3))).toMatchObject({ driftScore: 0.15, verdict: 'minor' });
    expect(scoreSample(sample(400, 501))).toMatchObject({ verdict: 'major' });
    expect(scoreSample(sample(400, 499))).toMatchObject({ verdict: 'minor' }); // 0.6 × 0.2475 = 0.1485
  });

  it('0.30: a = 2, b = 3 → pct 0.5, drift 0.3 exactly → major; a = 200, b = 301 → 0.6 × 0.505 = 0.303 → mismatch', () => {
    expect(scoreSample(sample(2, 3))).toMatchObject({ driftScore: 0.3, verdict: 'major' });
    expect(scoreSample(sample(2, 1))).toMatchObject({ driftScore: 0.3, verdict: 'major' });
    expect(scoreSample(sample(200, 301))).toMatchObject({ verdict: 'mismatch' });
    expect(scoreSample(sample(200, 299))).toMatchObject({ verdict: 'major' }); // 0.6 × 0.495 = 0.297
  });

  it('boundaries stay exact beyond 2^53 / 100 (the bigint path)', () => {
    // a = 3.6e15: 100·a is not a safe integer. b = a + a/12 → drift exactly 0.05 → match.
    const a = 3_600_000_000_000_000;
    expect(scoreSample(sample(a, a + a / 12))).toMatchObject({ verdict: 'match', driftScore: 0.05 });
    expect(scoreSample(sample(a, a + a / 12 + 1)).verdict).toBe('minor');
    expect(scoreSample(sample(a, a / 2)).verdict).toBe('major'); // pct 0.5 → 0.3
  });

  it('outlier (> 0.5) and fail (> 0.2) thresholds are strict', () => {
    // a = 3, b = 4: pct 1/3, drift 0.2 exactly → not a fail. a = 300, b = 401: 0.202 → fail.
    // a = 6, b = 11: pct 5/6, drift 0.5 exactly → not an outlier. a = 6, b = 12: pct 1, 0.6 → outlier.
    const report = divergenceReport(
      series([
        [3, 4],
        [300, 401],
        [6, 11],
        [6, 12],
      ]),
      WINDOW,
    );
    // fails: 0.202, 0.5, 0.6 → 3 of 4; outliers: 0.6 → 1
    expect(report.fail_ratio).toBe(3 / 4);
    expect(report.outlier_count).toBe(1);
  });
});

describe('percentiles', () => {
  it('n = 0: both 0', () => {
    expect(deltaPercentiles([])).toEqual({ p50: 0, p90: 0 });
    const report = divergenceReport([], WINDOW);
    expect(report.delta_p50).toBe(0);
    expect(report.delta_p90).toBe(0);
  });

  it('n = 1: d = [7] → p50 = d[floor(0.5)] = d[0] = 7; p90 = d[floor(0.9)] = d[0] = 7', () => {
    const report = divergenceReport(series([[10, 3]]), WINDOW); // delta −7, |−7| = 7
    expect(report.delta_p50).toBe(7);
    expect(report.delta_p90).toBe(7);
  });

  it('n = 2: d = [3, 9] → p50 = d[1] = 9; p90 = d[floor(1.8)] = d[1] = 9', () => {
    const report = divergenceReport(
      series([
        [100, 91],
        [100, 103],
      ]),
      WINDOW,
    );
    expect(report.delta_p50).toBe(9);
    expect(report.delta_p90).toBe(9);
  });

  it('n = 10: d = [1..10] → p50 = d[5] = 6; p90 = d[floor(9)] = d[9] = 10', () => {
    // absolute deltas 1..10, given out of order and with mixed signs
    const deltas = [5, -3, 10, -1, 7, 2, -9, 4, 8, -6];
    const report = divergenceReport(series(deltas.map((d): [number, number] => [1000, 1000 + d])), WINDOW);
    expect(report.delta_p50).toBe(6);
    expect(report.delta_p90).toBe(10);
  });

  it('n = 3 and n = 20 pick d[floor(n/2)] and d[floor(0.9 n)]', () => {
    // n = 3: p50 = d[1], p90 = d[floor(2.7)] = d[2]
    expect(deltaPercentiles([30, 10, 20])).toEqual({ p50: 20, p90: 30 });
    // n = 20, d = [0..19]: p50 = d[10] = 10, p90 = d[18] = 18
    expect(deltaPercentiles(Array.from({ length: 20 }, (_, i) => 19 - i))).toEqual({ p50: 10, p90: 18 });
  });
});

describe('kl_divergence', () => {
  it('hand-computed: P = [½, 0…0, ½], Q = [¼, 0…0, ¾] → ½ ln 2 + ½ ln ⅔ = ½ ln(4/3) ≈ 0.143841', () => {
    // min 1, max 11, range 10, width 1: 1 → bin 0, 11 → bin 9.
    const kl = klDivergence([1, 1, 11, 11], [1, 11, 11, 11]);
    const exact = 0.5 * Math.log((0.5 + EPS) / (0.25 + EPS)) + 0.5 * Math.log((0.5 + EPS) / (0.75 + EPS));
    expect(kl).toBe(exact);
    expect(kl).toBeCloseTo(0.5 * Math.log(4 / 3), 9);
  });

  it('empty sample sets give 0', () => {
    expect(klDivergence([], [])).toBe(0);
    expect(klDivergence([], [1, 2, 3])).toBe(0);
    expect(klDivergence([1, 2, 3], [])).toBe(0);
    expect(divergenceReport([], WINDOW).kl_divergence).toBe(0);
  });

  it('all values equal gives 0', () => {
    expect(klDivergence([5, 5], [5, 5, 5])).toBe(0);
  });

  it('every value is floored at 1 (0 and 1 are the same value)', () => {
    // [0, 1] vs [1, 0]: all values become 1 → all equal → 0.
    expect(klDivergence([0, 0], [1, 1])).toBe(0);
    // [0, 11] vs [1, 11] is the same as [1, 11] vs [1, 11] → 0.
    expect(klDivergence([0, 11], [1, 11])).toBe(0);
  });

  it('the maximum falls in the last bin', () => {
    // baseline [0, 10] → [1, 10]; compared [10, 10]. min 1, max 10, range 9.
    // 1 → bin 0; 10 → floor(10 × 9 / 9) = 10 → clamped to bin 9.
    // P = [½, 0…0, ½], Q = [0, 0…0, 1]
    // KL = ½ ln((½ + ε)/ε) + ½ ln((½ + ε)/(1 + ε)) ≈ ½ × 22.3327 − ½ × 0.6931 ≈ 10.8198
    const kl = klDivergence([0, 10], [10, 10]);
    expect(kl).toBe(0.5 * Math.log((0.5 + EPS) / EPS) + 0.5 * Math.log((0.5 + EPS) / (1 + EPS)));
    expect(kl).toBeCloseTo(10.8198, 3);
  });

  it('a value on an interior bin edge falls in the upper bin', () => {
    // min 1, max 11, width 1: 2 is the left edge of bin 1.
    // baseline [2, 2] → P = bin 1: 1. compared [1, 11] → Q = bin 0: ½, bin 9: ½.
    // KL = 1 × ln((1 + ε)/(0 + ε)) = ln(1e10 + 1) ≈ 23.0259 (it would be ln 2 if 2 fell in bin 0)
    expect(klDivergence([2, 2], [1, 11])).toBe(Math.log((1 + EPS) / EPS));
  });

  it('never negative', () => {
    expect(klDivergence([1, 5, 9], [9, 5, 1])).toBe(0);
  });
});

describe('report ratios and counts', () => {
  it('hand-computed report over five samples', () => {
    const report = divergenceReport(
      series([
        [100, 100], // drift 0 → match
        [100, 104], // 0.6 × 0.04 = 0.024 → match
        [100, 110], // 0.06 → minor
        [100, 150], // 0.3 → major, fail? 0.3 > 0.2 yes
        [100, 300], // 0.6 → mismatch, fail, outlier
      ]),
      WINDOW,
      ORIGINAL_RULES,
    );
    expect(report).toMatchObject({
      start_date: '2024-05-01',
      end_date: '2024-05-08',
      source: 'estimators',
      sample_count: 5,
      delta_p50: 10, // d = [0, 4, 10, 50, 200] → d[2]
      delta_p90: 200, // d[floor(4.5)] = d[4]
      outlier_count: 1,
      fail_ratio: 2 / 5,
      matching_rate: 2 / 5,
      // outliers 1/5 = 0.2 > 0.05 → alert
      drift_alert: true,
    });
    // min 100, max 300, range 200, width 20: 100 → bin 0, 104 → 0, 110 → 0, 150 → floor(2.5) = 2, 300 → 9
    // P = bin 0: 1 (all baselines 100); Q = bin 0: 3/5, bin 2: 1/5, bin 9: 1/5
    // KL = 1 × ln((1 + ε) / (0.6 + ε)) = ln(5/3) ≈ 0.5108
    expect(report.kl_divergence).toBe(Math.log((1 + EPS) / (0.6 + EPS)));
  });

  it('an empty report', () => {
    expect(divergenceReport([], { ...WINDOW, source: 'actual' })).toEqual({
      start_date: '2024-05-01',
      end_date: '2024-05-08',
      source: 'actual',
      sample_count: 0,
      delta_p50: 0,
      delta_p90: 0,
      kl_divergence: 0,
      outlier_count: 0,
      fail_ratio: 0,
      matching_rate: 0,
      drift_alert: false,
      detailed_samples: [],
    });
  });

  it('refuses a bad input hash or timestamp', () => {
    expect(() =>
      divergenceReport([sample(1, 1, { inputHash: 'ABCDEF0123456789' })], WINDOW, ORIGINAL_RULES),
    ).toThrow(/inputHash/);
    expect(() => divergenceReport([sample(1, 1, { inputHash: '0123' })], WINDOW, ORIGINAL_RULES)).toThrow(
      /inputHash/,
    );
    expect(() =>
      divergenceReport([sample(1, 1, { timestamp: 'yesterday' })], WINDOW, ORIGINAL_RULES),
    ).toThrow(/ISO-8601/);
  });
});

describe('drift_alert: a minimum sample count', () => {
  // Issue 17, item 6: one sample of 40 µ$ estimated and 440 µ$ charged is a KL of ln(1e10) ≈ 23.03.
  const one = series([[40, 440]]);

  it('one sample alone never alerts with the default rules, though its KL is ~23', () => {
    const report = divergenceReport(one, WINDOW);
    expect(report.kl_divergence).toBeCloseTo(Math.log(1e10), 6);
    expect(report.drift_alert).toBe(false);
    expect(DEFAULT_DRIFT_RULES.minSamples).toBeGreaterThan(1);
  });

  it('alerts from minSamples on, and not one sample before', () => {
    const drifting = (n: number) => series(Array.from({ length: n }, (): [number, number] => [40, 440]));
    const { minSamples } = DEFAULT_DRIFT_RULES;
    expect(divergenceReport(drifting(minSamples - 1), WINDOW).drift_alert).toBe(false);
    expect(divergenceReport(drifting(minSamples), WINDOW).drift_alert).toBe(true);
    expect(divergenceReport(one, WINDOW, { minSamples: 1 }).drift_alert).toBe(true);
    const days = aggregateBy(drifting(3), divergenceKeys.day, WINDOW, { minSamples: 4 });
    expect(days.map((d) => d.report.drift_alert)).toEqual([false]);
  });
});

describe('drift_alert: each trigger alone', () => {
  it('KL > 0.2 alone (every sample a match)', () => {
    // (1, 1) and (1001, 1001) set min 1, max 1001, width 100; eight (499, 501) samples:
    // 499 → floor(10 × 498 / 1000) = 4, 501 → floor(10 × 500 / 1000) = 5.
    // drift 0.6 × 2/499 ≈ 0.0024 → match. P: bin 4 = 0.8, Q: bin 5 = 0.8
    // KL = 0.8 × ln((0.8 + ε)/ε) + 0.1 ln 1 + 0.1 ln 1 ≈ 18.24
    const report = divergenceReport(
      series([[1, 1], [1001, 1001], ...Array.from({ length: 8 }, (): [number, number] => [499, 501])]),
      WINDOW,
      ORIGINAL_RULES,
    );
    expect(report.matching_rate).toBe(1);
    expect(report.outlier_count).toBe(0);
    expect(report.kl_divergence).toBeCloseTo(0.8 * Math.log((0.8 + EPS) / EPS), 12);
    expect(report.drift_alert).toBe(true);
  });

  it('outliers / n > 0.05 alone: 2 of 20 (10%), with (major + mismatch) / n = 10% (not > 10%) and KL ln(1/0.9) ≈ 0.105', () => {
    // outlier: a = 100, b = 120, feasibility differs → 0.6 × 0.2 + 0.4 = 0.52 > 0.5 (a mismatch too)
    // KL: min 100, max 120; P = bin 0: 1; Q = bin 0: 0.9, bin 9: 0.1 → ln(1/0.9) ≈ 0.1054 ≤ 0.2
    const pairs: Array<[number, number, Partial<DivergenceSample>?]> = [
      ...Array.from({ length: 18 }, (): [number, number] => [100, 100]),
      [100, 120, { comparedFeasible: false }],
      [100, 120, { comparedFeasible: false }],
    ];
    const report = divergenceReport(series(pairs), WINDOW, ORIGINAL_RULES);
    expect(report.outlier_count).toBe(2);
    expect(report.kl_divergence).toBeCloseTo(Math.log(1 / 0.9), 9);
    expect(report.drift_alert).toBe(true);
  });

  it('1 outlier of 20 is exactly 5%: no alert', () => {
    const pairs: Array<[number, number, Partial<DivergenceSample>?]> = [
      ...Array.from({ length: 19 }, (): [number, number] => [100, 100]),
      [100, 120, { comparedFeasible: false }],
    ];
    const report = divergenceReport(series(pairs), WINDOW, ORIGINAL_RULES);
    expect(report.outlier_count).toBe(1);
    expect(report.kl_divergence).toBeLessThan(0.2);
    expect(report.drift_alert).toBe(false);
  });

  it('(major + mismatch) / n > 0.10 alone: 2 of 10 feasibility flips, no outlier, KL 0', () => {
    // flip with equal costs: drift 0.4 → mismatch, not an outlier (0.4 ≤ 0.5); costs all equal → KL 0
    const pairs: Array<[number, number, Partial<DivergenceSample>?]> = [
      ...Array.from({ length: 8 }, (): [number, number] => [100, 100]),
      [100, 100, { baselineFeasible: false }],
      [100, 100, { comparedFeasible: false }],
    ];
    const report = divergenceReport(series(pairs), WINDOW, ORIGINAL_RULES);
    expect(report.outlier_count).toBe(0);
    expect(report.kl_divergence).toBe(0);
    expect(report.drift_alert).toBe(true);
  });

  it('exactly 10% does not alert; majors count as well as mismatches', () => {
    // one feasibility flip of 10: (major + mismatch) / n = 10%, not > 10%
    const oneOfTen = series([
      ...Array.from({ length: 9 }, (): [number, number] => [100, 100]),
      [100, 100, { comparedFeasible: false }],
    ]);
    expect(divergenceReport(oneOfTen, WINDOW, ORIGINAL_RULES).drift_alert).toBe(false);
    // (100, 140): pct 0.4 → drift 0.24 (major); (140, 100): pct 40/140 ≈ 0.2857 → drift ≈ 0.1714 (major).
    // Baselines and compared costs are the same multiset → P = Q → KL 0; no drift > 0.5.
    const twoMajors = series([
      ...Array.from({ length: 8 }, (): [number, number] => [100, 100]),
      [100, 140],
      [140, 100],
    ]);
    const report = divergenceReport(twoMajors, WINDOW, ORIGINAL_RULES);
    expect(report.detailed_samples.slice(0, 2).map((s) => s.verdict)).toEqual(['major', 'major']);
    expect(report.kl_divergence).toBe(0);
    expect(report.outlier_count).toBe(0);
    expect(report.drift_alert).toBe(true);
  });
});

describe('detailed_samples', () => {
  it('at most 100, newest first, with the report fields', () => {
    const samples = series(Array.from({ length: 150 }, (_, i): [number, number] => [1000 + i, 1000]));
    const report = divergenceReport(samples, WINDOW);
    expect(report.sample_count).toBe(150);
    expect(report.detailed_samples).toHaveLength(MAX_DETAILED_SAMPLES);
    // newest: a = 1149, b = 1000 → delta −149, pct 149/1149 ≈ 0.1297, drift ≈ 0.0778 → minor
    expect(report.detailed_samples[0]).toEqual({
      timestamp: samples[149]!.timestamp,
      input_hash: HASH,
      baseline_cost: 1149,
      compared_cost: 1000,
      cost_delta: -149,
      drift_score: expect.closeTo((0.6 * 149) / 1149, 15),
      verdict: 'minor',
    });
    expect(report.detailed_samples[99]!.timestamp).toBe(samples[50]!.timestamp);
    const times = report.detailed_samples.map((s) => Date.parse(s.timestamp));
    expect(times).toEqual([...times].sort((x, y) => y - x));
  });

  it('orders by instant, not by text, and breaks ties on the shown fields', () => {
    const samples: DivergenceSample[] = [
      sample(1, 1, { timestamp: '2024-05-02T12:00:00+02:00', inputHash: 'bbbbbbbbbbbbbbbb' }), // 10:00Z
      sample(1, 1, { timestamp: '2024-05-02T11:00:00.000Z', inputHash: 'cccccccccccccccc' }),
      sample(1, 1, { timestamp: '2024-05-02T12:00:00+02:00', inputHash: 'aaaaaaaaaaaaaaaa' }),
    ];
    const hashes = divergenceReport(samples, WINDOW).detailed_samples.map((s) => s.input_hash);
    expect(hashes).toEqual(['cccccccccccccccc', 'aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
  });

  it('timestamps are echoed untouched', () => {
    const report = divergenceReport([sample(1, 1, { timestamp: '2024-05-02T12:00:00+02:00' })], WINDOW);
    expect(report.detailed_samples[0]!.timestamp).toBe('2024-05-02T12:00:00+02:00');
  });
});

describe('legacyDivergenceReport', () => {
  it('the original shape, costs in fractional cents (micros / 10,000)', () => {
    const report = divergenceReport(
      series([
        [12_345, 10_000], // 1.2345¢ vs 1¢, delta −0.2345¢
        [50_000, 50_000],
      ]),
      WINDOW,
    );
    const legacy = legacyDivergenceReport(report);
    expect(Object.keys(legacy).sort()).toEqual(
      [
        'start_date',
        'end_date',
        'version',
        'sample_count',
        'delta_p50',
        'delta_p90',
        'kl_divergence',
        'outlier_count',
        'fail_ratio',
        'matching_rate',
        'detailed_samples',
      ].sort(),
    );
    expect(legacy).toMatchObject({
      start_date: '2024-05-01',
      end_date: '2024-05-08',
      version: 'v2',
      sample_count: 2,
      delta_p50: 0.2345, // d = [0, 2345] µ$ → d[1] = 2345 µ$ = 0.2345¢
      delta_p90: 0.2345,
      kl_divergence: report.kl_divergence,
      outlier_count: report.outlier_count,
      fail_ratio: report.fail_ratio,
      matching_rate: report.matching_rate,
    });
    expect(legacy.detailed_samples[0]).toEqual({
      timestamp: report.detailed_samples[0]!.timestamp,
      input_hash: HASH,
      v1_cost_cents: 5,
      v2_cost_cents: 5,
      cost_delta_cents: 0,
      drift_score: 0,
      verdict: 'match',
    });
    expect(legacy.detailed_samples[1]).toMatchObject({
      v1_cost_cents: 1.2345,
      v2_cost_cents: 1,
      cost_delta_cents: -0.2345,
    });
    expect(Object.keys(legacy.detailed_samples[1]!).sort()).toEqual(
      [
        'timestamp',
        'input_hash',
        'v1_cost_cents',
        'v2_cost_cents',
        'cost_delta_cents',
        'drift_score',
        'verdict',
      ].sort(),
    );
  });

  it('takes a version', () => {
    expect(legacyDivergenceReport(divergenceReport([], WINDOW), { version: '2.0.0' }).version).toBe('2.0.0');
  });

  it('microsToCents: 1 µ$ = 0.0001¢, 10,000 µ$ = 1¢', () => {
    expect(microsToCents(1)).toBe(0.0001);
    expect(microsToCents(10_000)).toBe(1);
    expect(microsToCents(-2_345)).toBe(-0.2345);
  });
});

describe('aggregateBy', () => {
  const samples: DivergenceSample[] = [
    sample(100, 100, { tenantId: 't2', skill: 'llm', timestamp: '2024-05-02T23:59:59.999Z' }),
    sample(100, 300, { tenantId: 't1', skill: 'http', timestamp: '2024-05-03T00:00:00.000Z' }),
    sample(100, 100, { tenantId: 't1', timestamp: '2024-05-03T08:00:00.000Z' }),
  ];

  it('one report per key, sorted by key', () => {
    const groups = aggregateBy(samples, divergenceKeys.tenant, WINDOW);
    expect(groups.map((g) => g.key)).toEqual(['t1', 't2']);
    expect(groups[0]!.report.sample_count).toBe(2);
    expect(groups[0]!.report.matching_rate).toBe(0.5);
    expect(groups[1]!.report).toEqual(divergenceReport([samples[0]!], WINDOW));
  });

  it('samples without the key are left out', () => {
    const groups = aggregateBy(samples, divergenceKeys.skill, WINDOW);
    expect(groups.map((g) => [g.key, g.report.sample_count])).toEqual([
      ['http', 1],
      ['llm', 1],
    ]);
  });

  it('per UTC day, with a window per key', () => {
    const groups = aggregateBy(samples, divergenceKeys.day, (key) => ({
      startDate: key,
      endDate: key,
      source: 'actual',
    }));
    expect(groups.map((g) => [g.key, g.report.start_date, g.report.sample_count])).toEqual([
      ['2024-05-02', '2024-05-02', 1],
      ['2024-05-03', '2024-05-03', 2],
    ]);
    expect(divergenceKeys.month(samples[0]!)).toBe('2024-05');
  });
});

describe('inputHashOf and rounding', () => {
  it('is the first 16 hex characters of the canonical JSON hash, independent of key order', () => {
    const plan = { steps: [{ skill: 'llm', params: { prompt: 'hi', max_tokens: 10 } }] };
    expect(inputHashOf(plan)).toBe(canonicalHash(plan).slice(0, 16));
    expect(inputHashOf(plan)).toMatch(/^[0-9a-f]{16}$/);
    expect(inputHashOf({ b: 2, a: 1 })).toBe(inputHashOf({ a: 1, b: 2 }));
  });

  it('roundRatios rounds ratios to 6 decimals and leaves money and counts alone', () => {
    expect(roundRatio(1 / 3)).toBe(0.333333);
    const report = divergenceReport(
      series([
        [3, 4],
        [3, 3],
        [3, 3],
      ]),
      WINDOW,
    );
    const rounded = roundRatios(report);
    expect(rounded.matching_rate).toBe(0.666667);
    expect(rounded.fail_ratio).toBe(0); // 0.2 is not > 0.2
    expect(rounded.delta_p50).toBe(report.delta_p50);
    expect(report.matching_rate).toBe(2 / 3); // the original object keeps full precision
    expect(roundRatios(legacyDivergenceReport(report)).matching_rate).toBe(0.666667);
  });
});

// ---------------------------------------------------------------------------------------
// Properties

const hexChar = fc.constantFrom(...'0123456789abcdef'.split(''));
const hashArb = fc.array(hexChar, { minLength: 16, maxLength: 16 }).map((cs) => cs.join(''));
const timestampArb = fc
  .integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2024, 0, 3) })
  .map((ms) => new Date(ms - (ms % 60_000)).toISOString()); // minute grid: plenty of ties
const costArb = fc.oneof(
  fc.integer({ min: 0, max: 20 }),
  fc.integer({ min: 0, max: 1_000_000 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);
const feasibleArb = fc.option(fc.boolean(), { nil: undefined });
const sampleArb: fc.Arbitrary<DivergenceSample> = fc.record({
  timestamp: timestampArb,
  inputHash: hashArb,
  baselineCostMicros: costArb,
  comparedCostMicros: costArb,
  baselineFeasible: feasibleArb,
  comparedFeasible: feasibleArb,
});

describe('properties', () => {
  it('identical baseline and compared costs: KL 0, matching_rate 1, no alert', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ timestamp: timestampArb, inputHash: hashArb, cost: costArb, feasible: feasibleArb }),
          { minLength: 1, maxLength: 200 },
        ),
        (rows) => {
          const samples = rows.map(
            (r): DivergenceSample => ({
              timestamp: r.timestamp,
              inputHash: r.inputHash,
              baselineCostMicros: r.cost,
              comparedCostMicros: r.cost,
              baselineFeasible: r.feasible,
              comparedFeasible: r.feasible,
            }),
          );
          const report = divergenceReport(samples, WINDOW);
          expect(report.kl_divergence).toBe(0);
          expect(report.matching_rate).toBe(1);
          expect(report.drift_alert).toBe(false);
          expect(report.outlier_count).toBe(0);
          expect(report.fail_ratio).toBe(0);
          expect(report.delta_p90).toBe(0);
        },
      ),
    );
  });

  it('every drift score is within [0, 1], and the verdict agrees with it', () => {
    fc.assert(
      fc.property(sampleArb, (s) => {
        const score = scoreSample(s);
        expect(score.driftScore).toBeGreaterThanOrEqual(0);
        expect(score.driftScore).toBeLessThanOrEqual(1);
        expect(score.verdict).toBe(verdictOfFloat(score.driftScore));
        expect(score.costDelta).toBe(s.comparedCostMicros - s.baselineCostMicros);
      }),
    );
  });

  it('the drift score is the formula 0.6 × min(pct, 1) + 0.4 × differs, to float precision', () => {
    fc.assert(
      fc.property(sampleArb, (s) => {
        const { pct, driftScore } = scoreSample(s);
        const differs = (s.baselineFeasible ?? true) !== (s.comparedFeasible ?? true) ? 1 : 0;
        expect(Math.abs(driftScore - (0.6 * Math.min(pct, 1) + 0.4 * differs))).toBeLessThan(1e-12);
      }),
    );
  });

  it('reports are deterministic and independent of the order of the samples', () => {
    const samplesAndPermutation = fc
      .array(sampleArb, { maxLength: 150 })
      .chain((samples) =>
        fc.tuple(
          fc.constant(samples),
          fc.shuffledSubarray(samples, { minLength: samples.length, maxLength: samples.length }),
        ),
      );
    fc.assert(
      fc.property(samplesAndPermutation, ([samples, shuffled]) => {
        const first: DivergenceReport = divergenceReport(samples, WINDOW);
        expect(divergenceReport(samples, WINDOW)).toEqual(first);
        expect(divergenceReport(shuffled, WINDOW)).toEqual(first);
        expect(first.kl_divergence).toBeGreaterThanOrEqual(0);
        expect(first.detailed_samples.length).toBe(Math.min(samples.length, MAX_DETAILED_SAMPLES));
      }),
    );
  });
});
