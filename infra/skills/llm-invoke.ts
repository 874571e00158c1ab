// llm_invoke: the deterministic `stub` model, always available, and an OpenAI-compatible
// chat-completions adapter for every other model.
//
// The stub's answer is a pure function of (seed, prompt text, stepIndex, maxTokens) — never of
// the attempt — so a retried call answers the same and replay can re-derive it. Its usage:
// the prompt (system + prompt + message contents, as domain/step-input.ts reads it) is
// ceil(chars / 4) tokens, of which `stub.cachedTokens` (default 0) are cached and the rest
// input (cached tokens are not also input tokens); 1..maxTokens output tokens (default 64).
//
// `iterations` (an agent loop of that many calls) multiplies the usage: the stub reports
// iterations × one call's usage, the HTTP adapter makes that many calls and sums their usage.
import { Agent, type Dispatcher, request } from 'undici';
import { z } from 'zod';
import { errorCodeNames } from '../../domain/errors.ts';
import { canonicalJson, sha256Bytes, sha256Hex } from '../../domain/hashing.ts';
import type { TokenUsage } from '../../domain/skill.ts';
import { builtinDefaultRetry } from '../../domain/skill-catalog.ts';
import { promptTextOf } from '../../domain/step-input.ts';
import {
  errorCodeForStatus,
  outcomeForRequestError,
  parseRetryAfter,
  readBodyCapped,
  snippet,
} from './http-support.ts';
import { failure, type SkillContext, type SkillDescriptor, type SkillResult, sleep } from './registry.ts';

export const STUB_MODEL = 'stub';
export const STUB_DEFAULT_MAX_TOKENS = 64;
const CHARS_PER_TOKEN = 4;

const messageSchema = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.string(),
});

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

export const llmInvokeInputSchema = z
  .strictObject({
    model: z.string().min(1),
    prompt: z.string().optional(),
    messages: z.array(messageSchema).min(1).optional(),
    system: z.string().optional(),
    maxTokens: z.int().positive().max(1_000_000).optional(),
    temperature: z.number().min(0).max(2).optional(),
    iterations: z.int().min(1).max(10_000).optional(),
    stub: stubOptionsSchema.optional(),
  })
  .superRefine((input, ctx) => {
    if (input.prompt === undefined && input.messages === undefined) {
      ctx.addIssue({ code: 'custom', path: ['prompt'], message: 'one of prompt or messages is required' });
    }
    if (input.stub !== undefined && input.model !== STUB_MODEL) {
      ctx.addIssue({ code: 'custom', path: ['stub'], message: `applies to model "${STUB_MODEL}" only` });
    }
  });
export type LlmInvokeInput = z.infer<typeof llmInvokeInputSchema>;

export const llmInvokeOutputSchema = z.strictObject({
  text: z.string(),
  /** The model as the provider names it (may carry a date suffix the request did not). */
  model: z.string(),
  finishReason: z.string().nullable(),
});
export type LlmInvokeOutput = z.infer<typeof llmInvokeOutputSchema>;

export interface LlmProviderOptions {
  /** e.g. https://api.openai.com/v1; requests go to `${baseUrl}/chat/completions`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>` when given. */
  apiKey?: string;
  /** Cap on a provider response; 10 MiB. */
  maxResponseBytes?: number;
  /** Extra headers for every request (e.g. an organisation id). */
  headers?: Record<string, string>;
}

export interface LlmInvokeOptions {
  /** The OpenAI-compatible provider for every model but `stub`; without it only `stub` works. */
  llm?: LlmProviderOptions;
}

export interface LlmInvokeSkill {
  descriptor: SkillDescriptor<LlmInvokeInput, LlmInvokeOutput>;
  close(): Promise<void>;
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

function addUsage(a: TokenUsage | undefined, b: TokenUsage): TokenUsage {
  if (!a) return b;
  return {
    model: a.model,
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
  };
}

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
  input: Pick<LlmInvokeInput, 'prompt' | 'messages' | 'system' | 'maxTokens' | 'stub'>,
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

async function invokeStub(
  input: LlmInvokeInput,
  context: SkillContext,
): Promise<SkillResult<LlmInvokeOutput>> {
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

function chatMessages(input: LlmInvokeInput): Array<Record<string, unknown>> {
  const messages: Array<Record<string, unknown>> = [];
  if (input.system !== undefined) messages.push({ role: 'system', content: input.system });
  for (const message of input.messages ?? []) messages.push({ ...message });
  if (input.prompt !== undefined) messages.push({ role: 'user', content: input.prompt });
  return messages;
}

const completionSchema = z.looseObject({
  model: z.string().optional(),
  choices: z
    .array(
      z.looseObject({
        message: z.looseObject({ content: z.string().nullable().optional() }).optional(),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1),
  usage: z
    .looseObject({
      prompt_tokens: z.int().nonnegative(),
      completion_tokens: z.int().nonnegative(),
      prompt_tokens_details: z
        .looseObject({ cached_tokens: z.int().nonnegative().nullable().optional() })
        .nullable()
        .optional(),
      /** Reported by some gateways (e.g. OpenRouter), in US dollars. */
      cost: z.number().nonnegative().optional(),
    })
    .optional(),
});

/** The provider's usage in our terms: cached prompt tokens are not also input tokens. */
export function usageFromProvider(
  model: string,
  usage: {
    prompt_tokens: number;
    completion_tokens: number;
    prompt_tokens_details?: { cached_tokens?: number | null } | null;
  },
): TokenUsage {
  const cached = Math.min(usage.prompt_tokens_details?.cached_tokens ?? 0, usage.prompt_tokens);
  return {
    model,
    inputTokens: usage.prompt_tokens - cached,
    outputTokens: usage.completion_tokens,
    cachedInputTokens: cached,
  };
}

function providerErrorMessage(raw: Buffer): string {
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as { error?: { message?: unknown } | string };
    if (typeof parsed.error === 'string') return parsed.error;
    if (typeof parsed.error?.message === 'string') return parsed.error.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return snippet(raw);
}

export function createLlmInvokeSkill(options: LlmInvokeOptions = {}): LlmInvokeSkill {
  const provider = options.llm;
  const dispatcher: Dispatcher | undefined = provider ? new Agent({ keepAliveTimeout: 4_000 }) : undefined;
  const endpoint = provider ? `${provider.baseUrl.replace(/\/+$/, '')}/chat/completions` : undefined;
  const cap = provider?.maxResponseBytes ?? 10 * 1_048_576;

  async function callOnce(
    input: LlmInvokeInput,
    context: SkillContext,
  ): Promise<SkillResult<LlmInvokeOutput> & { usage?: TokenUsage }> {
    const target = `llm_invoke ${input.model}`;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
    };
    for (const [name, value] of Object.entries(provider?.headers ?? {})) headers[name.toLowerCase()] = value;
    if (provider?.apiKey) headers.authorization = `Bearer ${provider.apiKey}`;
    const body: Record<string, unknown> = { model: input.model, messages: chatMessages(input) };
    if (input.maxTokens !== undefined) body.max_tokens = input.maxTokens;
    if (input.temperature !== undefined) body.temperature = input.temperature;
    try {
      const response = await request(endpoint!, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: context.signal,
        dispatcher: dispatcher!,
      });
      const raw = await readBodyCapped(response.body, cap, response.headers['content-length']);
      const status = response.statusCode;
      if (status < 200 || status >= 300) {
        const retryAfterMs =
          parseRetryAfter(response.headers['retry-after'], context.now()) ??
          parseRetryAfterMs(response.headers['retry-after-ms']);
        return failure(
          errorCodeForStatus(status),
          `${target}: the provider answered ${status}: ${providerErrorMessage(raw)}`,
          retryAfterMs === undefined ? {} : { retryAfterMs },
        );
      }
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        return failure('HTTP_5XX', `${target}: the provider answered ${status} with a body that is not JSON`);
      }
      const parsed = completionSchema.safeParse(json);
      if (!parsed.success) {
        return failure('HTTP_5XX', `${target}: the provider's answer is not a chat completion`);
      }
      const choice = parsed.data.choices[0]!;
      const result: SkillResult<LlmInvokeOutput> = {
        ok: true,
        output: {
          text: choice.message?.content ?? '',
          model: parsed.data.model ?? input.model,
          finishReason: choice.finish_reason ?? null,
        },
      };
      // Charged at the price of the model asked for: the price table knows `gpt-4o`, not
      // the dated name the provider may answer with.
      if (parsed.data.usage) result.usage = usageFromProvider(input.model, parsed.data.usage);
      if (parsed.data.usage?.cost !== undefined) {
        result.providerCostMicros = Math.round(parsed.data.usage.cost * 1_000_000);
      }
      return result;
    } catch (error) {
      if (context.signal.aborted) return failure('TIMEOUT', `${target}: aborted`);
      const outcome = outcomeForRequestError(error, target);
      if (outcome) return outcome;
      throw error;
    }
  }

  async function invokeProvider(
    input: LlmInvokeInput,
    context: SkillContext,
  ): Promise<SkillResult<LlmInvokeOutput>> {
    if (!provider) {
      return failure(
        'INVALID_INPUT',
        `model ${input.model} is not available: no OpenAI-compatible provider is configured (llm.baseUrl); only "${STUB_MODEL}" is`,
      );
    }
    let usage: TokenUsage | undefined;
    let providerCostMicros: number | undefined;
    let last: SkillResult<LlmInvokeOutput> | undefined;
    for (let iteration = 0; iteration < (input.iterations ?? 1); iteration++) {
      last = await callOnce(input, context);
      if (last.usage) usage = addUsage(usage, last.usage);
      if (last.providerCostMicros !== undefined) {
        providerCostMicros = (providerCostMicros ?? 0) + last.providerCostMicros;
      }
      if (!last.ok) break;
    }
    const result = { ...last! };
    // What every iteration so far consumed, failed or not.
    if (usage) result.usage = usage;
    if (providerCostMicros !== undefined) result.providerCostMicros = providerCostMicros;
    return result;
  }

  const descriptor: SkillDescriptor<LlmInvokeInput, LlmInvokeOutput> = {
    name: 'llm_invoke',
    version: '1.0.0',
    description: 'A chat completion: the deterministic stub model or an OpenAI-compatible provider.',
    inputSchema: llmInvokeInputSchema,
    outputSchema: llmInvokeOutputSchema,
    costModel:
      'Charged from usage (input, output and cached-input tokens) at the adopted price table (domain/pricing.ts); ' +
      'estimated by domain/estimate.ts: v1 max(5, floor(promptChars / 1000)) cents per call, v2 ceil(chars / 4) ' +
      'input and maxTokens output tokens at the price table; both × iterations.',
    defaultRetry: builtinDefaultRetry('llm_invoke'),
    sideEffecting: false,
    invoke(input, context) {
      return input.model === STUB_MODEL ? invokeStub(input, context) : invokeProvider(input, context);
    },
  };

  return { descriptor, close: async () => dispatcher?.close() };
}

function parseRetryAfterMs(value: string | string[] | undefined): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text || !/^\d+(\.\d+)?$/.test(text)) return undefined;
  return Math.ceil(Number(text));
}
