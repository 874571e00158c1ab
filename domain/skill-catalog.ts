// What the domain knows about the built-in skills without calling them: the default retry
// policy and whether a call has side effects. The skill registry in infra/ may pass its own
// facts to SubmitRun; these are the fallbacks and what tests use.
import { defaultRetryPolicy, type RetryPolicy } from './retry.ts';
import { httpMethodOf, type StepInput } from './step-input.ts';

export const builtinSkillNames = ['llm_invoke', 'http_call', 'json_transform'] as const;

export interface SkillFacts {
  defaultRetry?: RetryPolicy;
  sideEffecting?: boolean;
}

const defaultRetries: Record<string, RetryPolicy> = {
  llm_invoke: defaultRetryPolicy,
  http_call: defaultRetryPolicy,
  // A transform of the same data gives the same answer: retrying cannot help.
  json_transform: { ...defaultRetryPolicy, maxAttempts: 1 },
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
