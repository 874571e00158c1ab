// A reference dataset for the cost estimators (issue 18, item 1): plans with their budget,
// the cost range a correct estimator must land in and whether the plan is feasible, plus the
// thresholds an estimator's errors over the whole set must stay within. The shipped ones are
// versioned JSON under estimators/datasets/; uploaded ones are reference-data events.
import { z } from 'zod';
import { microsSchema } from './money.ts';

export const datasetKinds = [
  'low_variance',
  'high_variance',
  'mixed_workload',
  'injected_noise',
  'historical',
] as const;
export const estimatorNames = ['v1', 'v2'] as const;
export type EstimatorName = (typeof estimatorNames)[number];

export const datasetSampleSchema = z.strictObject({
  id: z.string().min(1),
  steps: z
    .array(z.strictObject({ skill: z.string().min(1), input: z.record(z.string(), z.unknown()) }))
    .min(1),
  budgetMicros: microsSchema.optional(),
  expected: z
    .strictObject({ minMicros: microsSchema, maxMicros: microsSchema, feasible: z.boolean() })
    .refine((range) => range.minMicros <= range.maxMicros, {
      message: 'minMicros must not exceed maxMicros',
      path: ['maxMicros'],
    }),
  tags: z.array(z.string()).default([]),
});
export type DatasetSample = z.infer<typeof datasetSampleSchema>;

export const datasetThresholdsSchema = z.strictObject({
  /** Median distance from an estimate to its expected range, micro-dollars. */
  medianAbsErrorMicros: microsSchema,
  /** 90th-percentile distance from an estimate to its expected range, micro-dollars. */
  p90AbsErrorMicros: microsSchema,
  /** Largest KL(nearest acceptable figures ‖ estimates) allowed: how far the misses bend the distribution. */
  maxKl: z.number().nonnegative(),
  /** Smallest share of samples whose estimate lies inside the expected range. */
  minWithinTolerance: z.number().min(0).max(1),
});
export type DatasetThresholds = z.infer<typeof datasetThresholdsSchema>;

export const datasetNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lowercase letters, digits, _ or -');

export const estimatorDatasetSchema = z.strictObject({
  name: datasetNameSchema,
  version: z.int().positive(),
  kind: z.enum(datasetKinds),
  description: z.string(),
  thresholds: datasetThresholdsSchema,
  /** Which estimators this dataset is meant to pass: a known-bad one is expected to fail. */
  expectedVerdicts: z.strictObject({ v1: z.enum(['pass', 'fail']), v2: z.enum(['pass', 'fail']) }),
  samples: z.array(datasetSampleSchema).min(1),
});
export type EstimatorDataset = z.infer<typeof estimatorDatasetSchema>;
