// One retry policy for every skill: exponential backoff with a cap and deterministic
// jitter. The jitter is derived from sha256(`${seed}:${stepIndex}:${attempt}`) rather than
// Math.random, so the same run always waits the same delays and replay can re-derive them.
import { type ErrorCode, errorCodes } from './errors.ts';
import { sha256Bytes } from './hashing.ts';
import type { RetryPolicy } from './retry-policy.ts';

export {
  defaultRetryPolicy,
  type RetryOverride,
  type RetryPolicy,
  resolveRetryPolicy,
  retryOverrideSchema,
  retryPolicySchema,
} from './retry-policy.ts';

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
