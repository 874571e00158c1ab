import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, inCanonicalKeyOrder } from '../../domain/canonical-json.ts';
import { jsonValue as json } from '../support/json-values.ts';

/** What the reference package answers (or the error it throws). */
function reference(value: unknown): string {
  try {
    const text = canonicalize(value);
    return text === undefined ? 'undefined' : text;
  } catch (error) {
    return `throws ${(error as Error).message}`;
  }
}

function ours(value: unknown): string {
  try {
    return canonicalJson(value);
  } catch (error) {
    return `throws ${(error as Error).message}`;
  }
}

describe('canonicalJson', () => {
  it('writes what the canonicalize package writes, or throws where it throws', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(ours(value)).toBe(reference(value));
        // A parsed line holds objects as JSON.parse builds them (own __proto__ keys and all).
        const text = JSON.stringify(value);
        if (text !== undefined) expect(ours(JSON.parse(text))).toBe(reference(JSON.parse(text)));
      }),
      { numRuns: 2_000 },
    );
  });

  it('gives the package the values JSON.stringify would write otherwise', () => {
    const cases: unknown[] = [
      { b: 1, a: undefined },
      { a: new Date(0) },
      { a: { toJSON: () => 'x' } },
      [1, undefined, 2],
      { a: Number.NaN },
      { a: Number.POSITIVE_INFINITY },
      { '\ud800': 1 },
      { a: '\udc00' },
      { b: 1, 10: 2, 2: 3 },
      { b: { d: 1, c: 2 }, a: [{ z: 1, y: 2 }] },
      -0,
      1e21,
      5e-324,
    ];
    for (const value of cases) expect(ours(value)).toBe(reference(value));
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    expect(ours(cycle)).toBe(reference(cycle));
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = { b: deep, a: i };
    expect(ours(deep)).toBe(reference(deep));
  });

  it('puts keys in canonical order for JSON.stringify, copying only what is out of order', () => {
    const inOrder = { a: 1, b: [{ c: 2 }] };
    expect(inCanonicalKeyOrder(inOrder)).toBe(inOrder);
    const value = { b: { y: 1, x: 2 }, a: inOrder };
    const ordered = inCanonicalKeyOrder(value);
    expect(JSON.stringify(ordered)).toBe(reference(value));
    expect((ordered as typeof value).a).toBe(inOrder);
    expect(JSON.stringify(value)).toBe('{"b":{"y":1,"x":2},"a":{"a":1,"b":[{"c":2}]}}');
  });
});
