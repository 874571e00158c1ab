// An append whose data is not plain JSON is refused naming the exact place: the path is kept as
// a stack of keys while the data is walked and spelled out only for the refusal.
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../domain/store/store-errors.ts';
import { validateAppend } from '../../domain/store/validate-append.ts';

const event = (data: unknown) => ({
  eventId: '00000000-0000-4000-8000-000000000001',
  type: 'Noted',
  schemaVersion: 1,
  data: data as Record<string, unknown>,
  metadata: { tenantId: 'acme' },
});
const refusal = (data: unknown) => {
  try {
    validateAppend('s-1', [event(data)], 'any', { maxEventBytes: 1 << 20 });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    const { field, message } = error as InvalidInputError;
    return { field, message };
  }
  throw new Error('accepted');
};

describe('validateAppend names where data is not plain JSON', () => {
  it('accepts plain JSON', () => {
    expect(() =>
      validateAppend('s-1', [event({ a: [1, { b: 'x', c: null, d: true }], e: {} })], 'any', {
        maxEventBytes: 1 << 20,
      }),
    ).not.toThrow();
  });

  it.each([
    [{ a: [1, { b: Number.NaN }] }, 'events[0].data.a[1].b', /NaN is not JSON/],
    [{ a: { b: undefined } }, 'events[0].data.a.b', /undefined is not JSON/],
    [{ a: [{}, { 'x\u0000': 1 }] }, 'events[0].data.a[1] key', /NUL/],
    [{ a: ['ok', 'bad\ud800'] }, 'events[0].data.a[1]', /lone UTF-16 surrogate/],
    [{ when: new Date(0) }, 'events[0].data.when', /Date object is not plain JSON/],
    [{ a: { f: () => 1 } }, 'events[0].data.a.f', /function is not JSON/],
  ])('%#: %s', (data, field, message) => {
    const refused = refusal(data);
    expect(refused.field).toBe(field);
    expect(refused.message).toMatch(message);
  });

  it('names a value nested too deep', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = [deep];
    const refused = refusal({ deep });
    expect(refused.field).toBe(`events[0].data.deep${'[0]'.repeat(64)}`);
    expect(refused.message).toMatch(/nested deeper than 64/);
  });
});

describe('validateAppend checks metadata', () => {
  const second = (metadata: unknown) => [
    event({ n: 1 }),
    {
      ...event({ n: 2 }),
      eventId: '00000000-0000-4000-8000-000000000002',
      metadata: metadata as { tenantId: string },
    },
  ];

  it('once for the events that share one object, each event carrying the checked copy', () => {
    const shared = { tenantId: 'acme', actor: 'ana', commandId: 'c-1' };
    const events = second(shared);
    events[0]!.metadata = shared;
    const input = validateAppend('s-1', events, 'any', { maxEventBytes: 1 << 20 });
    expect(input.events.map((e) => e.metadata)).toEqual([shared, shared]);
    expect(input.events[1]!.json.metadata).toBe('{"actor":"ana","commandId":"c-1","tenantId":"acme"}');
  });

  it('of every event, naming the one that is wrong', () => {
    expect(() =>
      validateAppend('s-1', second({ tenantId: 'acme', color: 'red' }), 'any', { maxEventBytes: 1 << 20 }),
    ).toThrow(expect.objectContaining({ field: 'events[1].metadata' }));
  });
});
