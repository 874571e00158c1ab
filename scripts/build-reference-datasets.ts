// Writes the four synthetic reference datasets (estimators/datasets/{low-variance,
// high-variance,mixed-workload,injected-noise}.json). Run: `node bin/run-ts.js
// scripts/build-reference-datasets.ts`; deterministic, so a rerun changes no file unless this
// script changed. The fifth (historical.json) comes from recorded runs instead: `aos datasets
// build --from-export` (docs/estimators.md).
//
// Why the expected ranges are not derived from an estimator: a sample's range is what the
// charge model (computeChargeMicros, the formula CostCharged uses) gives for the token usage
// the sample declares — the prompt's tokens in, and an output between a share of maxTokens and
// maxTokens — widened by PROVIDER_ALLOWANCE above, because a charge is the larger of the
// computed and the provider-reported cost. Neither v1 nor v2 is called here, so a dataset
// passing an estimator says that estimator agrees with the charges, not with itself.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHARS_PER_TOKEN } from '../domain/estimate.ts';
import type { DatasetSample, EstimatorDataset } from '../domain/estimator-dataset.ts';
import { computeChargeMicros, defaultPriceTable } from '../domain/pricing.ts';

/** A provider may report up to 5 % more than the computed cost; the charge is the larger. */
const PROVIDER_ALLOWANCE = 1.05;

interface LlmCall {
  model: string;
  promptChars: number;
  maxTokens: number;
  iterations?: number;
}

const llmStep = ({ model, promptChars, maxTokens, iterations }: LlmCall) => ({
  skill: 'llm_invoke',
  input: {
    model,
    prompt: 'x'.repeat(promptChars),
    maxTokens,
    ...(iterations !== undefined ? { iterations } : {}),
  },
});
const httpStep = { skill: 'http_call', input: { url: 'https://example.com/data', method: 'GET' } };
const jsonStep = { skill: 'json_transform', input: { expression: '$.items' } };

/** What the charge model says a call costs with `outputTokens` out, times its iterations. */
function callCharge(call: LlmCall, outputTokens: number): number {
  const usage = {
    model: call.model,
    inputTokens: Math.ceil(call.promptChars / CHARS_PER_TOKEN),
    outputTokens,
    cachedInputTokens: 0,
  };
  return computeChargeMicros(usage, defaultPriceTable) * (call.iterations ?? 1);
}

/** The range of charges when each call's output is between `minOutputShare` and all of maxTokens. */
function chargeRange(calls: readonly LlmCall[], minOutputShare: number) {
  const sum = (outputOf: (call: LlmCall) => number) =>
    calls.reduce((total, call) => total + callCharge(call, outputOf(call)), 0);
  return {
    minMicros: sum((call) => Math.floor(call.maxTokens * minOutputShare)),
    maxMicros: Math.ceil(sum((call) => call.maxTokens) * PROVIDER_ALLOWANCE),
  };
}

function sample(
  id: string,
  calls: readonly LlmCall[],
  options: { minOutputShare: number; tags: string[]; budgetMicros?: number; free?: boolean },
): DatasetSample {
  const range = chargeRange(calls, options.minOutputShare);
  const steps = [...(options.free ? [httpStep, jsonStep] : []), ...calls.map(llmStep)];
  return {
    id,
    steps,
    ...(options.budgetMicros !== undefined ? { budgetMicros: options.budgetMicros } : {}),
    // Feasible when the most it can cost fits the budget.
    expected: {
      ...range,
      feasible: options.budgetMicros === undefined || range.maxMicros <= options.budgetMicros,
    },
    tags: options.tags,
  };
}

const range = (count: number) => Array.from({ length: count }, (_, index) => index + 1);

const lowVariance: EstimatorDataset = {
  name: 'low-variance',
  version: 2,
  kind: 'low_variance',
  description:
    'Single gpt-4o calls of near-identical size (3800-4240 prompt characters, 1000 output tokens of which 900-1000 are used): the charges barely differ, so the thresholds are tight (a few hundred micro-dollars). It tests precision: v2 prices the tokens and lands in every range; v1 charges its flat 5 cents per call, four times the charge, and must fail.',
  thresholds: { medianAbsErrorMicros: 100, p90AbsErrorMicros: 500, maxKl: 0.05, minWithinTolerance: 0.9 },
  expectedVerdicts: { v1: 'fail', v2: 'pass' },
  samples: range(12).map((n) =>
    sample(`lv-${n}`, [{ model: 'gpt-4o', promptChars: 3760 + 40 * n, maxTokens: 1000 }], {
      minOutputShare: 0.9,
      tags: ['llm', 'gpt-4o'],
      budgetMicros: 100_000,
    }),
  ),
};

const highVariance: EstimatorDataset = {
  name: 'high-variance',
  version: 2,
  kind: 'high_variance',
  description:
    "claude-sonnet plans of 1 to 3 steps and 1 to 19 iterations each: charges spread over two orders of magnitude (about 40,000 to 2,900,000 micro-dollars), output between 80 % and all of maxTokens. It tests that an estimate scales with steps and iterations; both estimators must pass (v1's flat 5 cents is close to a sonnet call of this size, so what it is judged on here is scaling). Budgets of 200,000 make the larger plans infeasible.",
  thresholds: {
    medianAbsErrorMicros: 5_000,
    p90AbsErrorMicros: 50_000,
    maxKl: 0.05,
    minWithinTolerance: 0.8,
  },
  expectedVerdicts: { v1: 'pass', v2: 'pass' },
  samples: range(15).map((n) => {
    const iterations = 1 + ((n - 1) % 5) * 4 + Math.floor((n - 1) / 5);
    const stepCount = 1 + ((n - 1) % 3);
    const call = { model: 'claude-sonnet', promptChars: 4000, maxTokens: 3000, iterations };
    return sample(`hv-${n}`, Array(stepCount).fill(call), {
      minOutputShare: 0.8,
      tags: ['llm', 'iterations'],
      ...(n % 4 === 1 ? { budgetMicros: 200_000 } : {}),
    });
  }),
};

const mixedWorkload: EstimatorDataset = {
  name: 'mixed-workload',
  version: 2,
  kind: 'mixed_workload',
  description:
    'HTTP and JSON steps (free) with zero to two claude-sonnet calls of 4000 prompt characters, output between half and all of maxTokens: it tests that free steps add nothing and the LLM steps carry the cost. Both estimators must pass.',
  thresholds: { medianAbsErrorMicros: 1_000, p90AbsErrorMicros: 5_000, maxKl: 0.05, minWithinTolerance: 0.8 },
  expectedVerdicts: { v1: 'pass', v2: 'pass' },
  samples: range(12).map((n) => {
    const calls = Array(n % 3).fill({ model: 'claude-sonnet', promptChars: 4000, maxTokens: 3000 });
    return sample(`mw-${n}`, calls, { minOutputShare: 0.5, tags: ['mixed'], free: true });
  }),
};

/** A deterministic stream of noise in [-1, 1] (a 31-bit LCG), so the file is reproducible. */
function noise(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return (state / 2 ** 31) * 2 - 1;
  };
}

const NOISE = 0.1;
const next = noise(18);
const injectedNoise: EstimatorDataset = {
  name: 'injected-noise',
  version: 2,
  kind: 'injected_noise',
  description:
    "Cheap-model calls (gpt-4o-mini, claude-haiku) whose expected ranges are shifted by a seeded noise of up to ±10 %: a noisy reference moves up to half of the right estimates just outside their range, so the thresholds ask for half inside and misses under 100 micro-dollars (about a tenth of a call): it tests that noise in the reference does not fail a sound estimator while a wrong one still fails. v2 passes; v1's flat 5-cent floor per call is tens of times the charge and must fail.",
  thresholds: { medianAbsErrorMicros: 50, p90AbsErrorMicros: 100, maxKl: 0.1, minWithinTolerance: 0.5 },
  expectedVerdicts: { v1: 'fail', v2: 'pass' },
  samples: range(16).map((n) => {
    const model = n % 2 === 1 ? 'gpt-4o-mini' : 'claude-haiku';
    const call = { model, promptChars: 400 * (2 + ((n - 1) % 5)), maxTokens: 512 + 128 * ((n - 1) % 4) };
    const clean = sample(`in-${n}`, [call], { minOutputShare: 0.9, tags: ['llm', 'cheap', 'noise'] });
    const shift = 1 + NOISE * next();
    const { minMicros, maxMicros } = clean.expected;
    return {
      ...clean,
      expected: {
        ...clean.expected,
        minMicros: Math.round(minMicros * shift),
        maxMicros: Math.round(maxMicros * shift),
      },
    };
  }),
};

const dir = join(import.meta.dirname, '../estimators/datasets');
for (const dataset of [lowVariance, highVariance, mixedWorkload, injectedNoise]) {
  await writeFile(join(dir, `${dataset.name}.json`), `${JSON.stringify(dataset, null, 2)}\n`);
}
