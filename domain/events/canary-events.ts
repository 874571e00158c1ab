// The estimator canary's verdict (CanaryCompleted) and the severities of drift: no hashing
// here (domain/events/estimator-events.ts checks uploaded datasets' hashes), so that route
// contracts can use them.
import { z } from 'zod';
import { microsSchema } from '../money.ts';
import { atSchema, hashSchema, idSchema } from './fields.ts';

export const severities = ['P1', 'P2', 'P3'] as const;
export const severitySchema = z.enum(severities);

/** Each estimator's errors over the canary's sample, against what was charged. */
export const canaryMetricsSchema = z.strictObject({
  samples: z.int().nonnegative(),
  medianAbsErrorMicros: microsSchema,
  p90AbsErrorMicros: microsSchema,
  kl: z.number().nonnegative(),
  withinTolerance: z.number().min(0).max(1),
  feasibilityAgreement: z.number().min(0).max(1),
});

/** One recorded run the canary re-estimated: its plan, budget and what it was charged. */
export const canarySampleSchema = z.strictObject({
  runId: idSchema,
  tenantId: idSchema,
  steps: z
    .array(z.strictObject({ skill: z.string().min(1), input: z.record(z.string(), z.unknown()) }))
    .min(1),
  budgetMicros: microsSchema,
  chargedMicros: microsSchema,
});

export const canaryCompleted = z.strictObject({
  canaryId: idSchema,
  verdict: z.enum(['pass', 'fail']),
  trigger: z.enum(['schedule', 'on_demand']),
  /** Submitted runs sampled: [from, to). */
  window: z.strictObject({ from: atSchema, to: atSchema }),
  sample: z.array(canarySampleSchema),
  /** How many ended runs the window held before sampling. */
  candidates: z.int().nonnegative(),
  priceTable: z.strictObject({ version: z.string().min(1), hash: hashSchema }),
  estimatorVersions: z.strictObject({ v1: z.string().min(1), v2: z.string().min(1) }),
  metrics: z.strictObject({
    v1: canaryMetricsSchema,
    v2: canaryMetricsSchema,
    datasets: z.array(
      z.strictObject({
        name: z.string().min(1),
        version: z.int().positive(),
        hash: hashSchema,
        v1: z.enum(['pass', 'fail']),
        v2: z.enum(['pass', 'fail']),
        asExpected: z.boolean(),
      }),
    ),
  }),
  /** Per estimator: the severity its drift reached (null: none). */
  severity: z.strictObject({ v1: severitySchema.nullable(), v2: severitySchema.nullable() }),
  reasons: z.array(z.string()),
  at: atSchema,
});
