// A skill's retry policy and a step's override of it: the schemas, the default and their
// merge, without the jitter's hashing (domain/retry.ts), so that route contracts can use them.
import { z } from 'zod';
import { errorCodeNames } from './errors.ts';

/** A policy's fields, shared by the policy and the per-step override. */
const retryFields = {
  /** Total attempts including the first; 1 means never retry. */
  maxAttempts: z.int().min(1).max(100),
  initialDelayMs: z.int().nonnegative(),
  backoffCoefficient: z.number().min(1).max(100),
  maxDelayMs: z.int().nonnegative(),
  /** Fraction of the delay the jitter may add or remove, 0..1. */
  jitterRatio: z.number().min(0).max(1),
  /** Codes never retried by this policy, even when the taxonomy calls them retryable. */
  nonRetryableCodes: z.array(z.enum(errorCodeNames)),
};

export const retryPolicySchema = z
  .strictObject(retryFields)
  .refine((policy) => policy.maxDelayMs >= policy.initialDelayMs, {
    message: 'maxDelayMs must be at least initialDelayMs',
    path: ['maxDelayMs'],
  });
export type RetryPolicy = z.infer<typeof retryPolicySchema>;

/** A per-step override: any subset of the fields, applied over the skill's default. */
export const retryOverrideSchema = z.strictObject(retryFields).partial();
export type RetryOverride = z.infer<typeof retryOverrideSchema>;

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 3,
  initialDelayMs: 1_000,
  backoffCoefficient: 2,
  maxDelayMs: 30_000,
  jitterRatio: 0.1,
  nonRetryableCodes: [],
};

/**
 * Merges a skill's default with a step's override. Fields of the override replace the
 * default's (nonRetryableCodes included: a step that lists codes means exactly those), and
 * the result is validated as a whole so an override cannot produce maxDelayMs < initialDelayMs.
 * Merging is idempotent: merging the result again with the same override changes nothing.
 */
export function resolveRetryPolicy(skillDefault: RetryPolicy = defaultRetryPolicy, override?: RetryOverride) {
  return retryPolicySchema.parse({ ...skillDefault, ...(override ?? {}) });
}
