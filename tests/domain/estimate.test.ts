import { describe, expect, it } from 'vitest';
import { DomainError } from '../../domain/domain-error.ts';
import {
  cumulativeRisk,
  estimatePlan,
  estimateStepV1,
  estimateStepV2,
  stepRisk,
} from '../../domain/estimate.ts';
import { defaultPriceTable } from '../../domain/pricing.ts';

const prompt = (length: number) => 'x'.repeat(length);

describe('estimator v1 (static per skill)', () => {
  it('charges an LLM call max(5, floor(promptLength / 1000)) cents', () => {
    expect(estimateStepV1({ skill: 'llm_invoke', input: { prompt: prompt(2500) } })).toMatchObject({
      costMicros: 50_000,
      latencyMs: 1_025,
    });
    expect(estimateStepV1({ skill: 'llm_invoke', input: { prompt: prompt(12_345) } }).costMicros).toBe(
      120_000,
    );
  });

  it('multiplies cost and latency by iterations, and risk as 1 − (1 − p)^n', () => {
    const step = estimateStepV1({ skill: 'llm_invoke', input: { prompt: prompt(12_345), iterations: 3 } });
    expect(step.costMicros).toBe(360_000);
    expect(step.latencyMs).toBe(3 * 1_123);
    expect(step.risk).toBeCloseTo(1 - 0.98 ** 3, 9);
  });

  it('knows http_call, json_transform and falls back for unknown skills', () => {
    expect(estimateStepV1({ skill: 'http_call', input: {} })).toMatchObject({
      costMicros: 0,
      latencyMs: 500,
    });
    expect(estimateStepV1({ skill: 'json_transform', input: {} })).toMatchObject({
      costMicros: 0,
      latencyMs: 10,
    });
    expect(estimateStepV1({ skill: 'mystery', input: {} })).toMatchObject({
      costMicros: 100_000,
      latencyMs: 1_000,
      risk: 0.2,
    });
  });
});

describe('estimator v2 (tokens × price table)', () => {
  it('estimates input tokens as ceil(chars / 4) and output from maxTokens', () => {
    // stub: 625 input × 0.10 + 100 output × 0.20 = 62.5 + 20 = 82.5 → 83 micros
    const step = estimateStepV2(
      { skill: 'llm_invoke', input: { model: 'stub', prompt: prompt(2500), maxTokens: 100 } },
      defaultPriceTable,
    );
    expect(step).toMatchObject({ costMicros: 83, latencyMs: 1_500, model: 'stub' });
  });

  it('uses 256 output tokens by default and the fallback price for unknown models', () => {
    // unknown: 1 input token × 1.0 + 256 × 5.0 = 1281 micros
    const step = estimateStepV2({ skill: 'llm_invoke', input: { prompt: 'abc' } }, defaultPriceTable);
    expect(step).toMatchObject({ costMicros: 1_281, model: 'unknown' });
  });

  it('honours iterations too', () => {
    const once = estimateStepV2(
      { skill: 'llm_invoke', input: { model: 'gpt-4o', prompt: prompt(4000) } },
      defaultPriceTable,
    );
    const thrice = estimateStepV2(
      { skill: 'llm_invoke', input: { model: 'gpt-4o', prompt: prompt(4000), iterations: 3 } },
      defaultPriceTable,
    );
    expect(thrice.costMicros).toBe(3 * once.costMicros);
  });
});

describe('estimatePlan', () => {
  const plan = [
    { skill: 'llm_invoke', input: { model: 'stub', prompt: prompt(2500), maxTokens: 100 } },
    { skill: 'http_call', input: { url: 'https://example.com' } },
    { skill: 'mystery', input: {} },
  ];

  it('sums steps and combines risk as 1 − Π(1 − r) (hand-computed)', () => {
    const { v1, v2 } = estimatePlan(plan, { priceTable: defaultPriceTable, maxCostMicros: 1_000_000 });
    expect(v1).toMatchObject({ costMicros: 150_000, latencyMs: 2_525, feasible: true, reasons: [] });
    expect(v1.risk).toBeCloseTo(1 - 0.98 * 0.95 * 0.8, 9);
    expect(v2).toMatchObject({ costMicros: 100_083, latencyMs: 3_000, feasible: true });
    expect(v2.steps.map((step) => step.costMicros)).toEqual([83, 0, 100_000]);
  });

  it('is infeasible over budget, with a reason', () => {
    const { v2 } = estimatePlan(plan, { priceTable: defaultPriceTable, maxCostMicros: 100_000 });
    expect(v2.feasible).toBe(false);
    expect(v2.reasons[0]).toMatch(/exceeds the budget/);
  });

  it('is infeasible above a cumulative risk of 0.5', () => {
    const risky = Array.from({ length: 4 }, () => ({ skill: 'mystery', input: {} }));
    const { v1 } = estimatePlan(risky, { priceTable: defaultPriceTable });
    expect(v1.risk).toBeCloseTo(1 - 0.8 ** 4, 9);
    expect(v1.feasible).toBe(false);
    expect(v1.reasons[0]).toMatch(/risk/);
  });

  it('refuses an empty plan and bad iterations', () => {
    expect(() => estimatePlan([], { priceTable: defaultPriceTable })).toThrow(DomainError);
    expect(() =>
      estimatePlan([{ skill: 'llm_invoke', input: { iterations: 0 } }], { priceTable: defaultPriceTable }),
    ).toThrow(/iterations/);
  });

  it('risk helpers', () => {
    expect(stepRisk(0.2, 1)).toBeCloseTo(0.2, 12);
    expect(stepRisk(0.5, 2)).toBeCloseTo(0.75, 12);
    expect(cumulativeRisk([])).toBe(0);
    expect(cumulativeRisk([0.5, 0.5])).toBeCloseTo(0.75, 12);
  });
});
