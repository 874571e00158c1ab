// A skill's published contract (GET /v1/skills/:name): what an agent needs to know before it
// plans a call. Everything is derived from what the runtime itself uses, never restated: the
// JSON Schemas from the zod schemas the registry validates with, the error codes' category
// and retryability from the taxonomy, the cost model from the price table the charges use,
// the latency from the estimators that reserve budget.
import { z } from 'zod';
import { describeError, type ErrorCode } from './errors.ts';
import { estimateStepV1, estimateStepV2 } from './estimate.ts';
import { FALLBACK_MODEL, type HashedPriceTable, type ModelPrice } from './pricing.ts';
import type { RetryPolicy } from './retry.ts';
import { runtimeErrorCodes, skillTraits } from './skill-catalog.ts';
import type { StepInput } from './step-input.ts';

/** A skill as a caller may know it: its registry descriptor without the code that calls it. */
export interface SkillDescription {
  name: string;
  version: string;
  description?: string;
  inputSchema: z.ZodType;
  outputSchema: z.ZodType;
  /** A note on how the call is priced. */
  costModel: string;
  defaultRetry: RetryPolicy;
  sideEffecting: boolean | ((input: StepInput) => boolean);
}

/** Attempt durations seen for the skill, when a read model records them. */
export interface ObservedLatency {
  samples: number;
  p50Ms: number;
  p95Ms: number;
}

/** The limits around a call, set by the deployment (config) rather than the skill. */
export interface CallLimits {
  /** The executor's ceiling on one call, within the run's deadline. */
  callTimeoutMs: number;
  /** The largest request body (a plan with its inputs) and recorded event. */
  maxRequestBytes: number;
  /** Requests per minute per API key. */
  requestsPerMinute: number;
}

/** Above this a recorded input or output is kept as its hash and a truncated copy. */
export const RECORDED_VALUE_LIMIT_BYTES = 16 * 1024;

const jsonSchemaOf = (schema: z.ZodType, io: 'input' | 'output') =>
  // Inputs are described as a caller writes them (before defaults and transforms apply).
  z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;

function errorsOf(skill: string) {
  const codes = [...new Set<ErrorCode>([...skillTraits(skill).errorCodes, ...runtimeErrorCodes])];
  return codes.map((code) => {
    const { category, retryable, httpStatus } = describeError(code);
    return { code, category, retryable, httpStatus };
  });
}

function costModelOf(description: SkillDescription, priceTable: HashedPriceTable) {
  const { pricing } = skillTraits(description.name);
  const base = {
    kind: pricing,
    note: description.costModel,
    priceTable: { version: priceTable.version, hash: priceTable.hash },
    // What one call of a minimal input reserves: the estimators' own figures.
    estimateMicros: {
      v1: estimateStepV1({ skill: description.name, input: {} }).costMicros,
      v2: estimateStepV2({ skill: description.name, input: {} }, priceTable).costMicros,
    },
  };
  if (pricing !== 'tokens') return base;
  const prices: Record<string, ModelPrice> = priceTable.models;
  return { ...base, fallbackModel: FALLBACK_MODEL, modelPricesMicrosPerMillion: prices };
}

function latencyOf(
  description: SkillDescription,
  priceTable: HashedPriceTable,
  observed: ObservedLatency | null,
) {
  const input = {};
  return {
    estimateMs: {
      v1: estimateStepV1({ skill: description.name, input }).latencyMs,
      v2: estimateStepV2({ skill: description.name, input }, priceTable).latencyMs,
    },
    estimator:
      description.name === 'llm_invoke'
        ? 'v2: 500 ms + 10 ms per output token (maxTokens, default 256); v1: 1000 ms + 1 ms per 100 prompt characters'
        : "a fixed figure per call (domain/estimate.ts), times the input's iterations",
    observed,
  };
}

function resourcesOf(limits: CallLimits) {
  return {
    timeoutMs: limits.callTimeoutMs,
    timeout: "each call is cut off at timeoutMs or at the run's deadline, whichever comes first",
    maxRequestBytes: limits.maxRequestBytes,
    recordedValueLimitBytes: RECORDED_VALUE_LIMIT_BYTES,
    rateLimit: { requestsPerMinute: limits.requestsPerMinute, per: 'API key' },
  };
}

export interface ContractContext {
  priceTable: HashedPriceTable;
  limits: CallLimits;
  observed: ObservedLatency | null;
  /** Every version registered under the skill's name. */
  versions: readonly string[];
}

/** The summary of a skill in a list. */
export function skillSummaryOf(description: SkillDescription, versions: readonly string[]) {
  return {
    name: description.name,
    version: description.version,
    versions: [...versions],
    description: description.description ?? '',
    tags: [...skillTraits(description.name).tags],
  };
}

/** The whole contract of one skill version. */
export function skillContractOf(description: SkillDescription, context: ContractContext) {
  const traits = skillTraits(description.name);
  return {
    ...skillSummaryOf(description, context.versions),
    inputSchema: jsonSchemaOf(description.inputSchema, 'input'),
    outputSchema: jsonSchemaOf(description.outputSchema, 'output'),
    sideEffects: {
      sideEffecting:
        typeof description.sideEffecting === 'boolean'
          ? description.sideEffecting
          : ('depends_on_input' as const),
      rule: traits.sideEffects,
    },
    idempotency: traits.idempotency,
    defaultRetry: description.defaultRetry,
    errors: errorsOf(description.name),
    costModel: costModelOf(description, context.priceTable),
    latency: latencyOf(description, context.priceTable, context.observed),
    resources: resourcesOf(context.limits),
  };
}
export type SkillContract = ReturnType<typeof skillContractOf>;
