// Money is integer micro-dollars (1 USD = 1,000,000 micros), never floats: a float sum of
// many small charges drifts, and an audit must add up to the last micro-dollar.
// Charges computed from rates are rounded UP to the next micro-dollar (ceil), once per
// charge, so that rounding never lets spend slip under a budget.
import { z } from 'zod';
import { DomainError } from './domain-error.ts';

export const MICROS_PER_USD = 1_000_000;
export const MICROS_PER_CENT = 10_000;

/** A non-negative safe integer amount of micro-dollars. */
export const microsSchema = z.int().nonnegative();
export type Micros = z.infer<typeof microsSchema>;

export function assertMicros(value: number, what = 'amount'): Micros {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new DomainError('INVALID_INPUT', `${what} must be a non-negative integer of micro-dollars`, {
      value,
    });
  }
  return value;
}

const decimalPattern = /^(\d+)(?:\.(\d+))?$/;

/** Parses a decimal amount ("1.25") in units worth `microsPerUnit`, exactly, without floats. */
function parseDecimal(text: string, microsPerUnit: number, unit: string): Micros {
  const match = decimalPattern.exec(text.trim());
  if (!match) throw new DomainError('INVALID_INPUT', `not a ${unit} amount: ${JSON.stringify(text)}`);
  const whole = BigInt(match[1]!);
  const fraction = match[2] ?? '';
  const scale = 10n ** BigInt(fraction.length);
  const numerator = (whole * scale + BigInt(fraction || '0')) * BigInt(microsPerUnit);
  if (numerator % scale !== 0n) {
    throw new DomainError('INVALID_INPUT', `${unit} amount ${text} is finer than one micro-dollar`);
  }
  return assertMicros(Number(numerator / scale), `${unit} amount`);
}

/** "1.5" → 1_500_000. Refuses amounts finer than a micro-dollar instead of rounding them. */
export function usdToMicros(usd: string): Micros {
  return parseDecimal(usd, MICROS_PER_USD, 'USD');
}

/** 5 → 50_000; "0.25" → 2_500. */
export function centsToMicros(cents: number | string): Micros {
  if (typeof cents === 'number') {
    if (!Number.isSafeInteger(cents) || cents < 0) {
      throw new DomainError(
        'INVALID_INPUT',
        'cents must be a non-negative integer; pass a string for fractions',
      );
    }
    return assertMicros(cents * MICROS_PER_CENT, 'cents amount');
  }
  return parseDecimal(cents, MICROS_PER_CENT, 'cents');
}

/** 1_500_000 → "1.500000", for display; exact. */
export function microsToUsd(micros: Micros): string {
  const whole = Math.floor(micros / MICROS_PER_USD);
  const fraction = String(micros % MICROS_PER_USD).padStart(6, '0');
  return `${whole}.${fraction}`;
}

export function addMicros(...amounts: Micros[]): Micros {
  let total = 0;
  for (const amount of amounts) total += amount;
  return assertMicros(total, 'sum');
}

/** ceil(numerator / denominator) for non-negative BigInts: the rounding rule of every charge. */
export function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n || numerator < 0n)
    throw new RangeError('ceilDiv expects numerator >= 0, denominator > 0');
  return (numerator + denominator - 1n) / denominator;
}

/** Converts a BigInt amount back to a safe integer, refusing anything that would lose precision. */
export function microsFromBigInt(amount: bigint, what = 'amount'): Micros {
  if (amount < 0n || amount > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new DomainError('INVALID_INPUT', `${what} out of range of safe integer micro-dollars`, {
      amount: amount.toString(),
    });
  }
  return Number(amount);
}

/** A cost in whole cents, rounded UP (the older SDK's unit): an estimate never reads lower than it is. */
export function centsRoundedUp(micros: Micros): number {
  return Math.ceil(micros / MICROS_PER_CENT);
}

/** An amount left in whole cents, rounded DOWN: what remains never reads higher than it is. */
export function centsRoundedDown(micros: Micros): number {
  return Math.floor(micros / MICROS_PER_CENT);
}
