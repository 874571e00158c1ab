// A price table: per model, integer micro-dollars per million input, output and cached-input
// tokens; the default table and the charge for a call's usage. The hash that names a table is
// in domain/pricing.ts: this part has no hashing, so that route contracts can use it.
import { z } from 'zod';
import { DomainError } from './domain-error.ts';
import { ceilDiv, type Micros, microsFromBigInt, microsSchema } from './money.ts';
import type { TokenUsage } from './skill.ts';

/** The model whose prices apply to any model the table does not list. */
export const FALLBACK_MODEL = 'unknown';

export const modelPriceSchema = z.strictObject({
  inputMicrosPerMillion: microsSchema,
  outputMicrosPerMillion: microsSchema,
  cachedInputMicrosPerMillion: microsSchema,
});
export type ModelPrice = z.infer<typeof modelPriceSchema>;

export const priceModelsSchema = z
  .record(z.string().min(1), modelPriceSchema)
  .refine((models) => FALLBACK_MODEL in models, {
    message: `a price table must price the fallback model "${FALLBACK_MODEL}"`,
  });
export type PriceModels = z.infer<typeof priceModelsSchema>;

export const priceTableSchema = z.strictObject({
  version: z.string().min(1),
  models: priceModelsSchema,
});
export type PriceTable = z.infer<typeof priceTableSchema>;

/** A table as recorded with a run or adopted: its prices plus the hash that names them. */
export interface HashedPriceTable extends PriceTable {
  hash: string;
}

/** Cents per million tokens (the original's unit) to micro-dollars per million: × 10,000. */
/** Cached input defaults to 10% of input: input cents × 1,000. */
function fromCentsPerMillion(inputCents: number, outputCents: number): ModelPrice {
  return {
    inputMicrosPerMillion: inputCents * 10_000,
    outputMicrosPerMillion: outputCents * 10_000,
    cachedInputMicrosPerMillion: inputCents * 1_000,
  };
}

/**
 * The original AOS's prices (cents per million input/output tokens); cached input at 10% of
 * input where the original stated none. `stub` is the deterministic test model: small but
 * nonzero prices so that charges, budgets and divergence are exercised end to end.
 */
export const defaultPriceTable: PriceTable = {
  version: 'aos-default-1',
  models: {
    'claude-sonnet': fromCentsPerMillion(300, 1500),
    'claude-haiku': fromCentsPerMillion(25, 125),
    'gpt-4o': fromCentsPerMillion(250, 1000),
    'gpt-4o-mini': fromCentsPerMillion(15, 60),
    stub: fromCentsPerMillion(10, 20),
    [FALLBACK_MODEL]: fromCentsPerMillion(100, 500),
  },
};

export function priceFor(models: PriceModels, model: string): ModelPrice {
  const price = Object.hasOwn(models, model) ? models[model] : models[FALLBACK_MODEL];
  if (!price) throw new DomainError('INVALID_INPUT', `price table has no price for ${model} nor a fallback`);
  return price;
}

function tokenCount(value: number, what: string): bigint {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new DomainError('INVALID_INPUT', `${what} must be a non-negative integer`, { value });
  }
  return BigInt(value);
}

/**
 * The charge for a call's token usage: input, output and cached-input tokens each at their
 * own price (cached tokens are not part of inputTokens, so they are never counted twice).
 * Exact BigInt arithmetic; the total is rounded UP to the next micro-dollar, once.
 */
export function computeChargeMicros(usage: TokenUsage, table: Pick<PriceTable, 'models'>): Micros {
  const price = priceFor(table.models, usage.model);
  const perMillion =
    tokenCount(usage.inputTokens, 'inputTokens') * BigInt(price.inputMicrosPerMillion) +
    tokenCount(usage.outputTokens, 'outputTokens') * BigInt(price.outputMicrosPerMillion) +
    tokenCount(usage.cachedInputTokens, 'cachedInputTokens') * BigInt(price.cachedInputMicrosPerMillion);
  return microsFromBigInt(ceilDiv(perMillion, 1_000_000n), 'charge');
}
