// What the domain knows about the built-in skills without calling them: the default retry
// policy and whether a call has side effects. The skill registry in infra/ may pass its own
// facts to SubmitRun; these are the fallbacks and what tests use.
import type { ErrorCode } from './errors.ts';
import { defaultRetryPolicy, type RetryPolicy } from './retry.ts';
import { httpMethodOf, type StepInput } from './step-input.ts';

export const builtinSkillNames = [
  'llm_invoke',
  'http_call',
  'json_transform',
  'agent_invoke',
  'agent_spawn',
] as const;

export interface SkillFacts {
  defaultRetry?: RetryPolicy;
  sideEffecting?: boolean;
}

const defaultRetries: Record<string, RetryPolicy> = {
  llm_invoke: defaultRetryPolicy,
  http_call: defaultRetryPolicy,
  // A transform's own errors are not retryable (the same data fails the same way), so only an
  // attempt lost with its worker (WORKER_LOST) is tried again: a crash must not fail the run.
  json_transform: defaultRetryPolicy,
  // A child run retries its own steps; a failed child is not started again.
  agent_invoke: { ...defaultRetryPolicy, maxAttempts: 1 },
  agent_spawn: { ...defaultRetryPolicy, maxAttempts: 1 },
};

const safeHttpMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

export function builtinDefaultRetry(skill: string): RetryPolicy {
  return defaultRetries[skill] ?? defaultRetryPolicy;
}

/** An http_call that is not GET/HEAD/OPTIONS changes something somewhere; other built-ins do not. */
export function builtinSideEffecting(skill: string, input: StepInput): boolean {
  if (skill === 'http_call') return !safeHttpMethods.has(httpMethodOf(input));
  return false;
}

/** A step's side-effecting flag: its own override, else the registry's, else the built-in rule. */
export function stepSideEffecting(
  step: { skill: string; input: StepInput; sideEffecting?: boolean | undefined },
  facts: SkillFacts | undefined,
): boolean {
  return step.sideEffecting ?? facts?.sideEffecting ?? builtinSideEffecting(step.skill, step.input);
}

/** What a published skill contract says about a skill beyond its schemas (GET /v1/skills). */
export interface SkillTraits {
  tags: readonly string[];
  /** Codes the skill itself answers with; the runtime's own (runtimeErrorCodes) apply to all. */
  errorCodes: readonly ErrorCode[];
  /** `tokens`: charged from usage at the price table; `free`: no provider charge. */
  pricing: 'tokens' | 'free';
  sideEffects: string;
  idempotency: string;
}

/** Codes any attempt can end with, whatever the skill: the runtime's checks around the call. */
export const runtimeErrorCodes: readonly ErrorCode[] = [
  'SKILL_NOT_FOUND',
  'SCHEMA_VALIDATION_FAILED',
  'POLICY_DENIED',
  'BUDGET_EXCEEDED',
  'TIMEOUT',
  'CANCELLED',
  'WORKER_LOST',
  'CIRCUIT_OPEN',
  'INTERNAL',
];

const noSideEffects = 'none: the call reads or computes, it changes nothing anywhere';

const builtinTraits: Record<string, SkillTraits> = {
  llm_invoke: {
    tags: ['llm', 'model', 'text', 'generate', 'summarise', 'prompt', 'chat'],
    errorCodes: [
      'INVALID_INPUT',
      'RATE_LIMITED',
      'HTTP_4XX',
      'HTTP_5XX',
      'CONNECTION_REFUSED',
      'DNS_FAILURE',
      'RESPONSE_TOO_LARGE',
    ],
    pricing: 'tokens',
    sideEffects: noSideEffects,
    idempotency: 'no key needed; the stub model answers the same for the same seed, prompt and step',
  },
  http_call: {
    tags: ['http', 'fetch', 'api', 'web', 'request', 'url', 'webhook'],
    errorCodes: [
      'INVALID_INPUT',
      'MISSING_IDEMPOTENCY_KEY',
      'LOCAL_URL_FORBIDDEN',
      'DNS_FAILURE',
      'CONNECTION_REFUSED',
      'RATE_LIMITED',
      'HTTP_4XX',
      'HTTP_5XX',
      'RESPONSE_TOO_LARGE',
    ],
    pricing: 'free',
    sideEffects: 'GET, HEAD and OPTIONS change nothing; POST, PUT, PATCH and DELETE are side-effecting',
    idempotency:
      'a side-effecting method needs `idempotencyKey` (or an Idempotency-Key header), checked at submission; it is sent as Idempotency-Key so a retried call is deduplicated',
  },
  json_transform: {
    tags: ['json', 'transform', 'jmespath', 'extract', 'filter', 'data'],
    errorCodes: ['INVALID_INPUT'],
    pricing: 'free',
    sideEffects: noSideEffects,
    idempotency: 'no key needed: the same data and expression always give the same result',
  },
};

const childRunTraits = (waits: string): SkillTraits => ({
  tags: ['agent', 'child', 'delegate', 'sub-agent', 'multi-agent', 'run'],
  errorCodes: ['INVALID_INPUT', 'SKILL_NOT_FOUND', 'CHILD_RUN_FAILED', 'CHILD_LIMIT_EXCEEDED'],
  pricing: 'free',
  sideEffects: `starts a child run of the same tenant (its own steps declare their side effects); ${waits}`,
  idempotency:
    'the child run id derives from the run, step and attempt: a step started again starts the same child',
});
builtinTraits.agent_invoke = childRunTraits('the step waits for the child and returns its output');
builtinTraits.agent_spawn = childRunTraits(
  'the step returns the child run id at once; the run waits for it at its end',
);

/** A skill the domain does not know (registered by an operator): described by its schemas only. */
const unknownTraits: SkillTraits = {
  tags: [],
  errorCodes: [],
  pricing: 'free',
  sideEffects: 'as its descriptor declares',
  idempotency: 'not declared',
};

export function skillTraits(skill: string): SkillTraits {
  return builtinTraits[skill] ?? unknownTraits;
}

/**
 * Why a step cannot run as written for want of an idempotency key, or undefined. Checked at
 * submission, so a side-effecting call is refused before any approval is asked for it.
 */
export function missingIdempotencyKey(skill: string, input: StepInput): string | undefined {
  if (skill !== 'http_call' || !builtinSideEffecting(skill, input)) return undefined;
  if (input.idempotencyKey !== undefined) return undefined;
  const headers = input.headers;
  if (typeof headers === 'object' && headers !== null) {
    if (Object.keys(headers).some((name) => name.toLowerCase() === 'idempotency-key')) return undefined;
  }
  return `${httpMethodOf(input)} changes something and needs an idempotencyKey, so a retried call is deduplicated`;
}
