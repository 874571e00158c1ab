import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorCodeNames } from '../../domain/errors.ts';
import {
  backoffDelayMs,
  defaultRetryPolicy,
  type RetryPolicy,
  resolveRetryPolicy,
  retryDelayMs,
  scheduledRetryDelayMs,
  shouldRetry,
} from '../../domain/retry.ts';

const noJitter: RetryPolicy = { ...defaultRetryPolicy, jitterRatio: 0 };

describe('retryDelayMs', () => {
  it('is min(initial × coefficient^(attempt−1), max) without jitter', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((attempt) => retryDelayMs(noJitter, 7, 0, attempt))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
  });

  it('jitters within ±jitterRatio of the backoff, deterministically from the seed', () => {
    const policy = { ...defaultRetryPolicy, jitterRatio: 0.5 };
    const delays = [1, 2, 3].map((attempt) => retryDelayMs(policy, 7, 1, attempt));
    expect(delays).toEqual([1, 2, 3].map((attempt) => retryDelayMs(policy, 7, 1, attempt)));
    delays.forEach((delay, index) => {
      const base = backoffDelayMs(policy, index + 1);
      expect(delay).toBeGreaterThanOrEqual(base * 0.5);
      expect(delay).toBeLessThanOrEqual(base * 1.5);
    });
    // Different seeds or steps give different jitter (with overwhelming probability).
    expect(retryDelayMs(policy, 8, 1, 1)).not.toBe(retryDelayMs(policy, 7, 1, 1));
  });

  it('property: deterministic, integer, never negative, never above maxDelayMs', () => {
    const policyArb = fc
      .record({
        maxAttempts: fc.integer({ min: 1, max: 20 }),
        initialDelayMs: fc.integer({ min: 0, max: 60_000 }),
        backoffCoefficient: fc.double({ min: 1, max: 10, noNaN: true }),
        extra: fc.integer({ min: 0, max: 600_000 }),
        jitterRatio: fc.double({ min: 0, max: 1, noNaN: true }),
      })
      .map(
        ({ extra, ...rest }): RetryPolicy => ({
          ...rest,
          maxDelayMs: rest.initialDelayMs + extra,
          nonRetryableCodes: [],
        }),
      );
    fc.assert(
      fc.property(
        policyArb,
        fc.oneof(fc.integer(), fc.string({ minLength: 1 })),
        fc.nat(50),
        fc.integer({ min: 1, max: 200 }),
        (policy, seed, stepIndex, attempt) => {
          const delay = retryDelayMs(policy, seed, stepIndex, attempt);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(policy.maxDelayMs);
          expect(retryDelayMs(policy, seed, stepIndex, attempt)).toBe(delay);
          const base = backoffDelayMs(policy, attempt);
          expect(Math.abs(delay - base)).toBeLessThanOrEqual(Math.floor(base * policy.jitterRatio));
        },
      ),
    );
  });
});

describe('scheduledRetryDelayMs', () => {
  it('takes a longer Retry-After over its own delay, capped by maxDelayMs', () => {
    expect(scheduledRetryDelayMs(noJitter, 1, 0, 1, 5_000)).toBe(5_000);
    expect(scheduledRetryDelayMs(noJitter, 1, 0, 1, 500)).toBe(1_000);
    expect(scheduledRetryDelayMs(noJitter, 1, 0, 1, 3_600_000)).toBe(30_000);
    expect(scheduledRetryDelayMs(noJitter, 1, 0, 1)).toBe(1_000);
  });
});

describe('shouldRetry', () => {
  it('retries retryable codes until maxAttempts', () => {
    expect(shouldRetry(defaultRetryPolicy, 'TIMEOUT', 1)).toBe(true);
    expect(shouldRetry(defaultRetryPolicy, 'TIMEOUT', 2)).toBe(true);
    expect(shouldRetry(defaultRetryPolicy, 'TIMEOUT', 3)).toBe(false);
  });

  it('never retries what the taxonomy calls non-retryable', () => {
    expect(shouldRetry(defaultRetryPolicy, 'HTTP_4XX', 1)).toBe(false);
    expect(shouldRetry(defaultRetryPolicy, 'INVALID_INPUT', 1)).toBe(false);
  });

  it('honours nonRetryableCodes', () => {
    const policy = { ...defaultRetryPolicy, nonRetryableCodes: ['RATE_LIMITED' as const] };
    expect(shouldRetry(policy, 'RATE_LIMITED', 1)).toBe(false);
    expect(shouldRetry(policy, 'HTTP_5XX', 1)).toBe(true);
  });

  it('covers every code of the taxonomy', () => {
    for (const code of errorCodeNames)
      expect(typeof shouldRetry(defaultRetryPolicy, code, 1)).toBe('boolean');
  });
});

describe('resolveRetryPolicy', () => {
  it('lays a step override over the skill default', () => {
    expect(
      resolveRetryPolicy(defaultRetryPolicy, { maxAttempts: 5, nonRetryableCodes: ['TIMEOUT'] }),
    ).toEqual({
      ...defaultRetryPolicy,
      maxAttempts: 5,
      nonRetryableCodes: ['TIMEOUT'],
    });
    expect(resolveRetryPolicy(defaultRetryPolicy)).toEqual(defaultRetryPolicy);
  });

  it('is idempotent, so a recorded effective policy resolves to itself', () => {
    const once = resolveRetryPolicy(defaultRetryPolicy, { initialDelayMs: 10 });
    expect(resolveRetryPolicy(once, { initialDelayMs: 10 })).toEqual(once);
    expect(resolveRetryPolicy(defaultRetryPolicy, once)).toEqual(once);
  });

  it('refuses an override that makes the policy invalid', () => {
    expect(() => resolveRetryPolicy(defaultRetryPolicy, { maxDelayMs: 10 })).toThrow(/maxDelayMs/);
  });
});
