// Reading the few fields of a step's free-form `input` that the runtime itself cares about
// (the estimators, the policy and the retry key off them). The skill validates the rest.
import { DomainError } from './domain-error.ts';

export type StepInput = Record<string, unknown>;

/** How many times the step repeats its call (an agent loop); 1 unless the input says otherwise. */
export function iterationsOf(input: StepInput): number {
  const value = input.iterations;
  if (value === undefined) return 1;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > 10_000) {
    throw new DomainError('INVALID_INPUT', 'input.iterations must be an integer from 1 to 10000', { value });
  }
  return value;
}

/** The text an LLM call sends: `system` plus `prompt`, or the contents of `messages`. */
export function promptTextOf(input: StepInput): string {
  const parts: string[] = [];
  if (typeof input.system === 'string') parts.push(input.system);
  if (typeof input.prompt === 'string') parts.push(input.prompt);
  if (Array.isArray(input.messages)) {
    for (const message of input.messages) {
      const content = (message as { content?: unknown } | null)?.content;
      if (typeof content === 'string') parts.push(content);
    }
  }
  return parts.join('\n');
}

export function modelOf(input: StepInput): string | undefined {
  return typeof input.model === 'string' && input.model.length > 0 ? input.model : undefined;
}

export function maxTokensOf(input: StepInput): number | undefined {
  const value = input.maxTokens;
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

export function httpMethodOf(input: StepInput): string {
  return typeof input.method === 'string' ? input.method.toUpperCase() : 'GET';
}

/** The lower-case host of an http_call's `url`, or undefined when it has none or it is not a URL. */
export function httpHostOf(input: StepInput): string | undefined {
  if (typeof input.url !== 'string') return undefined;
  try {
    const host = new URL(input.url).hostname.toLowerCase();
    return host.length > 0 ? host : undefined;
  } catch {
    return undefined;
  }
}
