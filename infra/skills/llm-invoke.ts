// llm_invoke: an OpenAI-compatible chat-completions adapter for every model but `stub`, which
// is answered by infra/skills/llm-stub.ts (deterministic, always available).
//
// `iterations` (an agent loop of that many calls) multiplies the usage: the stub reports
// iterations × one call's usage, the HTTP adapter makes that many calls and sums their usage.
import { Agent, type Dispatcher, request } from 'undici';
import { z } from 'zod';
import type { TokenUsage } from '../../domain/skill.ts';
import { builtinDefaultRetry } from '../../domain/skill-catalog.ts';
import {
  errorCodeForStatus,
  outcomeForRequestError,
  parseRetryAfter,
  readBodyCapped,
  snippet,
} from './http-support.ts';
import { invokeStub, STUB_MODEL, stubOptionsSchema } from './llm-stub.ts';
import { failure, type SkillContext, type SkillDescriptor, type SkillResult } from './registry.ts';

const messageSchema = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.string(),
});

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

function addUsage(a: TokenUsage | undefined, b: TokenUsage): TokenUsage {
  if (!a) return b;
  return {
    model: a.model,
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
  };
}

function chatMessages(input: LlmInvokeInput): Array<Record<string, unknown>> {
  const messages: Array<Record<string, unknown>> = [];
  if (input.system !== undefined) messages.push({ role: 'system', content: input.system });
  for (const message of input.messages ?? []) messages.push({ ...message });
  if (input.prompt !== undefined) messages.push({ role: 'user', content: input.prompt });
  return messages;
}

/** An OpenAI-compatible chat completion, as far as AOS reads it (the LLM planner reads it too). */
export const completionSchema = z.looseObject({
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
          retryAfterMs === undefined ? { httpStatus: status } : { retryAfterMs, httpStatus: status },
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
