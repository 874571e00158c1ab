// The `stub` model of llm_invoke: deterministic, always available, no network.
//
// The stub's answer is a pure function of (seed, prompt text, stepIndex, maxTokens) — never of
// the attempt — so a retried call answers the same and replay can re-derive it. Its usage:
// the prompt (system + prompt + message contents, as domain/step-input.ts reads it) is
// ceil(chars / 4) tokens, of which `stub.cachedTokens` (default 0) are cached and the rest
// input (cached tokens are not also input tokens); 1..maxTokens output tokens (default 64).
// `iterations` multiplies one call's usage.
import { z } from 'zod';
import { errorCodeNames } from '../../domain/errors.ts';
import { canonicalJson, sha256Bytes, sha256Hex } from '../../domain/hashing.ts';
import type { TokenUsage } from '../../domain/skill.ts';
import { promptTextOf } from '../../domain/step-input.ts';
import { failure, type SkillContext, type SkillResult, sleep } from './registry.ts';

export const STUB_MODEL = 'stub';
export const STUB_DEFAULT_MAX_TOKENS = 64;
const CHARS_PER_TOKEN = 4;

/** Failure injection and knobs of the stub model, for tests and benchmarks. */
export const stubOptionsSchema = z.strictObject({
  /** Attempts 1..failAttempts fail. */
  failAttempts: z.int().nonnegative().optional(),
  /** The code injected failures carry; HTTP_5XX unless given. */
  errorCode: z.enum(errorCodeNames).optional(),
  /** retryAfterMs of injected failures. */
  retryAfterMs: z.int().nonnegative().optional(),
  /** Waited (abortably) before every answer, failures included. */
  delayMs: z.int().nonnegative().max(3_600_000).optional(),
  /** Injected failures report the input tokens they consumed (output 0). */
  usageOnFailure: z.boolean().optional(),
  /** Prompt tokens reported as cached (at most the prompt's tokens). */
  cachedTokens: z.int().nonnegative().optional(),
});
export type StubOptions = z.infer<typeof stubOptionsSchema>;

/** What the stub reads of an llm_invoke input (validated by the skill's schema). */
export interface StubInput {
  prompt?: string | undefined;
  messages?: ReadonlyArray<{ role: string; content: string }> | undefined;
  system?: string | undefined;
  maxTokens?: number | undefined;
  iterations?: number | undefined;
  stub?: StubOptions | undefined;
}

export interface StubOutput {
  text: string;
  model: string;
  finishReason: string | null;
}

const VOCABULARY = [
  'agent',
  'budget',
  'cost',
  'event',
  'stream',
  'replay',
  'policy',
  'retry',
  'ledger',
  'audit',
  'hash',
  'chain',
  'model',
  'token',
  'plan',
  'step',
  'skill',
  'run',
  'state',
  'decide',
  'evolve',
  'project',
  'query',
  'export',
  'verify',
  'certify',
  'estimate',
  'charge',
  'settle',
  'reserve',
  'approve',
  'deadline',
  'lease',
  'worker',
  'tenant',
  'price',
  'table',
  'version',
  'schema',
  'upcast',
  'position',
  'checkpoint',
  'snapshot',
  'fold',
  'digest',
  'seed',
  'jitter',
  'backoff',
  'timeout',
  'limit',
  'signal',
  'outcome',
  'usage',
  'cache',
  'input',
  'output',
  'answer',
  'summary',
  'result',
  'record',
  'read',
  'write',
  'append',
  'deterministic',
] as const;

function scaleUsage(usage: TokenUsage, times: number): TokenUsage {
  return {
    model: usage.model,
    inputTokens: usage.inputTokens * times,
    outputTokens: usage.outputTokens * times,
    cachedInputTokens: usage.cachedInputTokens * times,
  };
}

/** The stub's answer to one call; exported so tests and benchmarks can predict it. */
export function stubAnswer(
  input: Pick<StubInput, 'prompt' | 'messages' | 'system' | 'maxTokens' | 'stub'>,
  seed: number | string,
  stepIndex: number,
): { text: string; usage: TokenUsage; finishReason: 'stop' | 'length' } {
  const promptText = promptTextOf(input as Record<string, unknown>);
  const maxTokens = input.maxTokens ?? STUB_DEFAULT_MAX_TOKENS;
  const digest = sha256Hex(canonicalJson({ seed, stepIndex, prompt: promptText }));
  const outputTokens = 1 + (Number.parseInt(digest.slice(0, 8), 16) % maxTokens);
  const words: string[] = [];
  for (let block = 0; words.length < outputTokens; block++) {
    const bytes = sha256Bytes(`${digest}:${block}`);
    for (const byte of bytes) {
      if (words.length >= outputTokens) break;
      words.push(VOCABULARY[byte % VOCABULARY.length]!);
    }
  }
  const promptTokens = Math.ceil(promptText.length / CHARS_PER_TOKEN);
  const cachedInputTokens = Math.min(input.stub?.cachedTokens ?? 0, promptTokens);
  return {
    text: words.join(' '),
    usage: {
      model: STUB_MODEL,
      inputTokens: promptTokens - cachedInputTokens,
      outputTokens,
      cachedInputTokens,
    },
    finishReason: outputTokens === maxTokens ? 'length' : 'stop',
  };
}

export async function invokeStub(input: StubInput, context: SkillContext): Promise<SkillResult<StubOutput>> {
  const stub = input.stub ?? {};
  if (stub.delayMs !== undefined && stub.delayMs > 0) {
    try {
      await sleep(stub.delayMs, context.signal);
    } catch {
      return failure('TIMEOUT', 'stub: aborted while waiting');
    }
  }
  const iterations = input.iterations ?? 1;
  const answer = stubAnswer(input, context.call.seed, context.call.stepIndex);
  const failAttempts = stub.failAttempts ?? 0;
  if (context.call.attempt <= failAttempts) {
    const extra: Parameters<typeof failure>[2] = {};
    if (stub.retryAfterMs !== undefined) extra.retryAfterMs = stub.retryAfterMs;
    if (stub.usageOnFailure) extra.usage = scaleUsage({ ...answer.usage, outputTokens: 0 }, iterations);
    return failure(
      stub.errorCode ?? 'HTTP_5XX',
      `stub: injected failure on attempt ${context.call.attempt} (fails while attempt <= ${failAttempts})`,
      extra,
    );
  }
  return {
    ok: true,
    output: { text: answer.text, model: STUB_MODEL, finishReason: answer.finishReason },
    usage: scaleUsage(answer.usage, iterations),
  };
}
