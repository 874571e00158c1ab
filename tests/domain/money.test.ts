import { describe, expect, it } from 'vitest';
import { DomainError } from '../../domain/domain-error.ts';
import { addMicros, ceilDiv, centsToMicros, microsToUsd, usdToMicros } from '../../domain/money.ts';

describe('money', () => {
  it('parses USD strings exactly', () => {
    expect(usdToMicros('1')).toBe(1_000_000);
    expect(usdToMicros('1.5')).toBe(1_500_000);
    expect(usdToMicros('0.000001')).toBe(1);
    expect(usdToMicros('0.1')).toBe(100_000);
    expect(usdToMicros('2.30')).toBe(2_300_000);
  });

  it('refuses amounts finer than a micro-dollar, negatives and junk', () => {
    expect(() => usdToMicros('0.0000001')).toThrow(DomainError);
    expect(() => usdToMicros('-1')).toThrow(DomainError);
    expect(() => usdToMicros('1e3')).toThrow(DomainError);
    expect(() => usdToMicros('')).toThrow(DomainError);
  });

  it('converts cents (10,000 micros each), integers or decimal strings', () => {
    expect(centsToMicros(5)).toBe(50_000);
    expect(centsToMicros('0.25')).toBe(2_500);
    expect(() => centsToMicros(0.5)).toThrow(DomainError);
  });

  it('formats and adds without floats', () => {
    expect(microsToUsd(1_500_001)).toBe('1.500001');
    expect(microsToUsd(7)).toBe('0.000007');
    // 0.1 + 0.2 in floats is 0.30000000000000004; in micros it is exact.
    expect(addMicros(usdToMicros('0.1'), usdToMicros('0.2'))).toBe(usdToMicros('0.3'));
  });

  it('rounds charges up', () => {
    expect(ceilDiv(1n, 1_000_000n)).toBe(1n);
    expect(ceilDiv(2_000_000n, 1_000_000n)).toBe(2n);
    expect(ceilDiv(0n, 1_000_000n)).toBe(0n);
  });
});
