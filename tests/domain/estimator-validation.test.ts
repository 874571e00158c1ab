import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { estimatorDatasetSchema } from '../../domain/estimator-dataset.ts';
import { thresholdVerdicts, validateDataset, validationMetrics } from '../../domain/estimator-validation.ts';
import { defaultPriceTable } from '../../domain/pricing.ts';

const folder = join(import.meta.dirname, '../../estimators/datasets');
const shipped = readdirSync(folder).map((file) =>
  estimatorDatasetSchema.parse(JSON.parse(readFileSync(join(folder, file), 'utf8'))),
);

function verdicts(name: string) {
  const dataset = shipped.find((candidate) => candidate.name === name)!;
  const report = validateDataset(dataset, defaultPriceTable);
  return Object.fromEntries(report.estimators.map((result) => [result.estimator, result.verdict]));
}

describe('shipped estimator datasets', () => {
  it("each gives the verdicts it declares with today's estimators and price table", () => {
    for (const dataset of shipped) {
      const report = validateDataset(dataset, defaultPriceTable);
      for (const result of report.estimators)
        expect([dataset.name, result.estimator, result.asExpected]).toEqual([
          dataset.name,
          result.estimator,
          true,
        ]);
    }
  });

  it('v2 passes all of them; the noise dataset fails v1', () => {
    expect(verdicts('low-variance')).toEqual({ v1: 'fail', v2: 'pass' });
    expect(verdicts('high-variance')).toEqual({ v1: 'pass', v2: 'pass' });
    expect(verdicts('mixed-workload')).toEqual({ v1: 'pass', v2: 'pass' });
    expect(verdicts('injected-noise')).toEqual({ v1: 'fail', v2: 'pass' });
    expect(verdicts('historical')).toEqual({ v1: 'fail', v2: 'pass' });
  });

  it('the noise dataset fails v1 on error and tolerance, and lists its worst samples first', () => {
    const dataset = shipped.find((candidate) => candidate.name === 'injected-noise')!;
    const v1 = validateDataset(dataset, defaultPriceTable).estimators.find(
      (result) => result.estimator === 'v1',
    )!;
    expect(v1.thresholds.filter((check) => !check.pass).map((check) => check.threshold)).toEqual([
      'medianAbsErrorMicros',
      'p90AbsErrorMicros',
      'maxKl',
      'minWithinTolerance',
    ]);
    expect(v1.worst).toHaveLength(5);
    expect(v1.worst[0]!.errorMicros).toBeGreaterThanOrEqual(v1.worst[4]!.errorMicros);
  });
});

describe('what each dataset tests', () => {
  const failed = (name: string, estimator: 'v1' | 'v2') =>
    validateDataset(shipped.find((candidate) => candidate.name === name)!, defaultPriceTable)
      .estimators.find((result) => result.estimator === estimator)!
      .thresholds.filter((check) => !check.pass)
      .map((check) => check.threshold);

  it('low variance fails v1 on its error, not on the shape of the distribution alone', () => {
    expect(failed('low-variance', 'v1')).toEqual(
      expect.arrayContaining(['medianAbsErrorMicros', 'minWithinTolerance']),
    );
  });

  it('injected noise leaves some v2 estimates just outside, within what the thresholds allow', () => {
    const dataset = shipped.find((candidate) => candidate.name === 'injected-noise')!;
    const v2 = validateDataset(dataset, defaultPriceTable).estimators.find((r) => r.estimator === 'v2')!;
    expect(v2.metrics.withinTolerance).toBeLessThan(1);
    expect(v2.metrics.withinTolerance).toBeGreaterThanOrEqual(dataset.thresholds.minWithinTolerance);
    expect(v2.verdict).toBe('pass');
  });
});

describe('validation metrics', () => {
  const result = (id: string, estimate: number, min: number, max: number) => ({
    id,
    tags: [],
    estimateMicros: estimate,
    expectedMinMicros: min,
    expectedMaxMicros: max,
    errorMicros: estimate < min ? min - estimate : estimate > max ? estimate - max : 0,
    feasible: true,
    expectedFeasible: true,
  });

  it('measure the distance to the expected range, and judge each threshold at its limit', () => {
    const metrics = validationMetrics([
      result('a', 100, 90, 110),
      result('b', 150, 90, 110),
      result('c', 50, 90, 110),
    ]);
    expect(metrics).toMatchObject({
      samples: 3,
      medianAbsErrorMicros: 40,
      p90AbsErrorMicros: 40,
      withinTolerance: 1 / 3,
    });
    const checks = thresholdVerdicts(metrics, {
      medianAbsErrorMicros: 40,
      p90AbsErrorMicros: 39,
      maxKl: 100,
      minWithinTolerance: 0.5,
    });
    expect(checks.map((check) => check.pass)).toEqual([true, false, true, false]);
  });

  it('KL is 0 when every estimate is inside its range, wherever in it', () => {
    expect(validationMetrics([result('a', 110, 90, 110), result('b', 20, 10, 100)]).kl).toBe(0);
    expect(validationMetrics([result('a', 500, 90, 110), result('b', 20, 10, 100)]).kl).toBeGreaterThan(0);
  });

  it('an empty set has zero metrics', () => {
    expect(validationMetrics([])).toEqual({
      samples: 0,
      medianAbsErrorMicros: 0,
      p90AbsErrorMicros: 0,
      kl: 0,
      withinTolerance: 0,
      feasibilityAgreement: 0,
    });
  });
});

describe('dataset schema', () => {
  it('names the field that is wrong', () => {
    const parsed = estimatorDatasetSchema.safeParse({
      ...shipped[0],
      samples: [{ ...shipped[0]!.samples[0], expected: { minMicros: 5, maxMicros: 1, feasible: true } }],
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.path).toEqual(['samples', 0, 'expected', 'maxMicros']);
  });
});
