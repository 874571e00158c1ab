// What a skill is to the runtime: a versioned descriptor and a structured outcome.
// Skills never throw to the runtime; every failure is an outcome with an error code.
import type { ErrorCode } from './errors.ts';

/** Tokens a call consumed. Cached input tokens are NOT included in inputTokens. */
export interface TokenUsage {
  model: string;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
}

export type SkillOutcome =
  | {
      ok: true;
      output: unknown;
      usage?: TokenUsage;
      /** Amount the provider itself reported for the call, if it reports one. */
      providerCostMicros?: number;
    }
  | {
      ok: false;
      errorCode: ErrorCode;
      message: string;
      /** Server-requested wait (e.g. Retry-After), honoured by the retry schedule. */
      retryAfterMs?: number;
      /** The HTTP status of the answer the failure came from, if any (the failure catalog may match on it). */
      httpStatus?: number;
      usage?: TokenUsage;
      providerCostMicros?: number;
    };
