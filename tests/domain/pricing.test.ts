import { describe, expect, it } from 'vitest';
import {
  computeChargeMicros,
  defaultPriceTable,
  priceTableHash,
  priceTableSchema,
  withPriceTableHash,
} from '../../domain/pricing.ts';

const usage = (model: string, inputTokens: number, outputTokens: number, cachedInputTokens = 0) => ({
  model,
  inputTokens,
  outputTokens,
  cachedInputTokens,
});

describe('default price table', () => {
  it('converts the original cents-per-million prices (×10,000) with cached input at 10%', () => {
    expect(defaultPriceTable.models['claude-sonnet']).toEqual({
      inputMicrosPerMillion: 3_000_000,
      outputMicrosPerMillion: 15_000_000,
      cachedInputMicrosPerMillion: 300_000,
    });
    expect(defaultPriceTable.models['claude-haiku']?.cachedInputMicrosPerMillion).toBe(25_000);
    expect(defaultPriceTable.models['gpt-4o']?.outputMicrosPerMillion).toBe(10_000_000);
    expect(defaultPriceTable.models['gpt-4o-mini']?.inputMicrosPerMillion).toBe(150_000);
    expect(defaultPriceTable.models.unknown?.inputMicrosPerMillion).toBe(1_000_000);
    expect(defaultPriceTable.models.stub?.inputMicrosPerMillion).toBeGreaterThan(0);
    expect(priceTableSchema.safeParse(defaultPriceTable).success).toBe(true);
  });

  it('refuses a table without the fallback model', () => {
    const table = { version: 'x', models: { stub: defaultPriceTable.models.stub } };
    expect(priceTableSchema.safeParse(table).success).toBe(false);
  });
});

describe('computeChargeMicros', () => {
  it('prices input, output and cached input separately (hand-computed)', () => {
    // stub: 1000×0.10 + 500×0.20 + 2000×0.01 micros = 100 + 100 + 20
    expect(computeChargeMicros(usage('stub', 1000, 500, 2000), defaultPriceTable)).toBe(220);
    // sonnet: one million input tokens is $3
    expect(computeChargeMicros(usage('claude-sonnet', 1_000_000, 0), defaultPriceTable)).toBe(3_000_000);
  });

  it('never counts cached tokens as input', () => {
    const cached = computeChargeMicros(usage('claude-sonnet', 0, 0, 1_000_000), defaultPriceTable);
    const uncached = computeChargeMicros(usage('claude-sonnet', 1_000_000, 0, 0), defaultPriceTable);
    expect(cached).toBe(300_000);
    expect(cached).toBeLessThan(uncached);
  });

  it('rounds the total up to the next micro-dollar, once', () => {
    // gpt-4o-mini: 1234 × 0.15 + 567 × 0.6 = 185.1 + 340.2 = 525.3 → 526
    expect(computeChargeMicros(usage('gpt-4o-mini', 1234, 567), defaultPriceTable)).toBe(526);
    expect(computeChargeMicros(usage('stub', 1, 0), defaultPriceTable)).toBe(1);
    expect(computeChargeMicros(usage('stub', 0, 0), defaultPriceTable)).toBe(0);
  });

  it('uses the fallback price for models it does not list', () => {
    expect(computeChargeMicros(usage('some-new-model', 1_000_000, 0), defaultPriceTable)).toBe(1_000_000);
  });

  it('stays exact where floats would not (BigInt products)', () => {
    const big = usage('claude-sonnet', 3_000_000_000, 1_000_000_000, 0);
    expect(computeChargeMicros(big, defaultPriceTable)).toBe(3_000 * 3_000_000 + 1_000 * 15_000_000);
  });

  it('refuses negative or fractional token counts', () => {
    expect(() => computeChargeMicros(usage('stub', -1, 0), defaultPriceTable)).toThrow(/inputTokens/);
    expect(() => computeChargeMicros(usage('stub', 1.5, 0), defaultPriceTable)).toThrow(/inputTokens/);
  });
});

describe('priceTableHash', () => {
  it('hashes the prices canonically: key order and version label do not matter', () => {
    const reordered = {
      version: 'other',
      models: Object.fromEntries(Object.entries(defaultPriceTable.models).reverse()),
    };
    expect(priceTableHash(reordered)).toBe(priceTableHash(defaultPriceTable));
    expect(withPriceTableHash(defaultPriceTable).hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with any price', () => {
    const changed = {
      ...defaultPriceTable,
      models: {
        ...defaultPriceTable.models,
        stub: { ...defaultPriceTable.models.stub!, outputMicrosPerMillion: 1 },
      },
    };
    expect(priceTableHash(changed)).not.toBe(priceTableHash(defaultPriceTable));
  });
});
