// A circuit breaker's stream (`breaker-<tenantId>-<target digest>`): one per tenant and target
// (skill + host for http_call, skill + model for llm_invoke). Its state changes are events, so
// whether a call was let through or refused can be re-derived by folding the stream.
import { z } from 'zod';
import {
  atSchema,
  attemptSchema,
  errorCodeSchema,
  idSchema,
  runIdSchema,
  stepIndexSchema,
} from './fields.ts';

const target = {
  tenantId: idSchema,
  /** e.g. `http_call:api.example.com` or `llm_invoke:gpt-4o`. */
  target: z.string().min(1).max(500),
};
const call = { runId: runIdSchema, stepIndex: stepIndexSchema, attempt: attemptSchema };

/** A retryable failure of a call to the target while the breaker was closed: the window's count. */
export const breakerFailureRecorded = z.strictObject({
  ...target,
  ...call,
  errorCode: errorCodeSchema,
  at: atSchema,
});

/** Too many failures in the window (or the probe failed): calls are refused until `halfOpenAt`. */
export const breakerOpened = z.strictObject({
  ...target,
  failures: z.int().nonnegative(),
  windowMs: z.int().positive(),
  cooldownMs: z.int().positive(),
  halfOpenAt: atSchema,
  /** The probe whose failure reopened it, if that is why. */
  probe: z.strictObject(call).optional(),
  at: atSchema,
});

/** The cooldown passed: this one call is let through as the probe; the others wait for its outcome. */
export const breakerProbeStarted = z.strictObject({ ...target, ...call, at: atSchema });

/** The probe succeeded: calls flow again. */
export const breakerClosed = z.strictObject({ ...target, ...call, at: atSchema });

export const breakerEventSchemas = {
  BreakerFailureRecorded: breakerFailureRecorded,
  BreakerOpened: breakerOpened,
  BreakerProbeStarted: breakerProbeStarted,
  BreakerClosed: breakerClosed,
} as const;
