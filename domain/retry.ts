// One retry policy for every skill: exponential backoff with a cap and deterministic
// jitter. The jitter is derived from sha256(`${seed}:${stepIndex}:${attempt}`) rather than
// Math.random, so the same run always waits the same delays and replay can re-derive them.
import { z } from 'zod';
import { type ErrorCode, errorCodeNames, errorCodes } from './errors.ts';
import { sha256Bytes } from './hashing.ts';

export const retryPolicySchema = z
  .strictObject({
    /** Total attempts including the first; 1 means never retry. */
    maxAttempts: z.int().min(1).max(100),
    initialDelayMs: z.int().nonnegative(),
    backoffCoefficient: z.number().min(1).max(100),
    maxDelayMs: z.int().nonnegative(),
    /** Fraction of the delay the jitter may add or remove, 0..1. */
    jitterRatio: z.number().min(0).max(1),
    /** Codes never retried by this policy, even when the taxonomy calls them retryable. */
    nonRetryableCodes: z.array(z.enum(errorCodeNames)),
  })
  .refine((policy) => policy.maxDelayMs >= policy.initialDelayMs, {
    message: 'maxDelayMs must be at least initialDelayMs',
    path: ['maxDelayMs'],
  });
export type RetryPolicy = z.infer<typeof retryPolicySchema>;

/** A per-step override: any subset of the fields, applied over the skill's default. */
export const retryOverrideSchema = z
  .strictObject({
    maxAttempts: z.int().min(1).max(100),
    initialDelayMs: z.int().nonnegative(),
    backoffCoefficient: z.number().min(1).max(100),
    maxDelayMs: z.int().nonnegative(),
    jitterRatio: z.number().min(0).max(1),
    nonRetryableCodes: z.array(z.enum(errorCodeNames)),
  })
  .partial();
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

/** 2^64, the range of the first 8 bytes of the jitter hash. */
const TWO_POW_64 = 1n << 64n;

/** Backoff before the next attempt, without jitter: min(initial × coefficient^(attempt−1), max). */
export function backoffDelayMs(policy: RetryPolicy, attempt: number): number {
  const raw = policy.initialDelayMs * policy.backoffCoefficient ** (attempt - 1);
  return Math.floor(Math.min(raw, policy.maxDelayMs));
}

/**
 * The delay after failed attempt `attempt` (1-based) of step `stepIndex`: the backoff,
 * shifted by a jitter in [−jitterRatio, +jitterRatio] of it taken from the first 8 bytes of
 * sha256(`${seed}:${stepIndex}:${attempt}`). Integer ms, never negative, never above maxDelayMs.
 * The jitter offset is computed in BigInt so it is exact and platform-independent.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  seed: number | string,
  stepIndex: number,
  attempt: number,
): number {
  const base = backoffDelayMs(policy, attempt);
  const span = BigInt(Math.floor(base * policy.jitterRatio));
  const sample = sha256Bytes(`${seed}:${stepIndex}:${attempt}`).readBigUInt64BE(0);
  // (2·sample − 2^64) / 2^64 is uniform in [−1, 1); scale by the span and truncate.
  const offset = Number(((2n * sample - TWO_POW_64) * span) / TWO_POW_64);
  return Math.min(Math.max(base + offset, 0), policy.maxDelayMs);
}

/**
 * A server-requested wait (Retry-After) wins when it is longer than our own schedule, but
 * is capped by maxDelayMs so a hostile or broken server cannot park a run forever.
 */
export function scheduledRetryDelayMs(
  policy: RetryPolicy,
  seed: number | string,
  stepIndex: number,
  attempt: number,
  retryAfterMs?: number,
): number {
  const own = retryDelayMs(policy, seed, stepIndex, attempt);
  if (retryAfterMs === undefined || retryAfterMs <= own) return own;
  return Math.min(Math.floor(retryAfterMs), policy.maxDelayMs);
}

/**
 * Whether failed attempt `attempt` (1-based) may be followed by another. `retryable` is the
 * failure catalog's word on this failure; without it, the error taxonomy's.
 */
export function shouldRetry(
  policy: RetryPolicy,
  errorCode: ErrorCode,
  attempt: number,
  retryable: boolean = errorCodes[errorCode].retryable,
): boolean {
  if (attempt >= policy.maxAttempts) return false;
  if (!retryable) return false;
  return !policy.nonRetryableCodes.includes(errorCode);
}
