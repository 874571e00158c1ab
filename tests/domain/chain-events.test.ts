// The append hashes each event from the canonical JSON its validation wrote (one walk of the
// data); verification recomputes the hash from the recorded event alone. Both must agree for
// any data an append accepts, integer-like keys and __proto__ keys among them.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chainEvents } from '../../domain/store/chain-events.ts';
import { GENESIS_HASH, verifyChain } from '../../domain/store/hash-chain.ts';
import { validateAppend } from '../../domain/store/validate-append.ts';
import { jsonValue } from '../support/json-values.ts';

const event = (i: number, data: unknown, metadata: Record<string, unknown> = { tenantId: 'acme' }) => ({
  eventId: `00000000-0000-4000-8000-00000000000${i}`,
  type: 'Noted',
  schemaVersion: 1,
  data,
  metadata: metadata as { tenantId: string },
});

function accepted(events: ReturnType<typeof event>[]) {
  try {
    return validateAppend('notes-1', events, 'any', { maxEventBytes: 1 << 20 });
  } catch {
    return undefined;
  }
}

describe('chainEvents', () => {
  it('hashes what verifyChain recomputes, for any data an append accepts', () => {
    let hashedFromParts = 0;
    fc.assert(
      fc.property(jsonValue, jsonValue, (first, second) => {
        const input = accepted([event(1, first), event(2, { second })]);
        if (!input) return;
        if (input.events.every((e) => e.canonical)) hashedFromParts++;
        const recorded = chainEvents(
          input.streamId,
          input.events,
          { version: -1, hash: GENESIS_HASH },
          '2026-12-07T20:00:00.000Z',
        );
        expect(verifyChain(recorded)).toMatchObject({ ok: true, count: 2 });
      }),
      { numRuns: 500 },
    );
    expect(hashedFromParts).toBeGreaterThan(100);
  });

  it('puts metadata keys in canonical order too', () => {
    const metadata = { tenantId: 'acme', actor: 'ana', correlationId: 'c-1', causationId: 'c-0' };
    const input = validateAppend(
      'notes-1',
      [event(1, { b: 1, a: { d: [{ z: 1, y: 2 }], c: 'é' } }, metadata)],
      'any',
      {
        maxEventBytes: 1 << 20,
      },
    );
    expect(input.events[0]!.canonical).toBe(true);
    expect(input.events[0]!.json).toEqual({
      data: '{"a":{"c":"é","d":[{"y":2,"z":1}]},"b":1}',
      metadata: '{"actor":"ana","causationId":"c-0","correlationId":"c-1","tenantId":"acme"}',
    });
    const recorded = chainEvents(
      'notes-1',
      input.events,
      { version: 4, hash: 'f'.repeat(64) },
      '2026-12-07T20:00:00.000Z',
    );
    expect(verifyChain(recorded, { startPosition: 5, prevHash: 'f'.repeat(64) })).toMatchObject({ ok: true });
  });

  it('falls back to the reference canonical JSON where V8 cannot hold the order', () => {
    const input = validateAppend('notes-1', [event(1, { '10': 'a', '9': 'b' })], 'any', {
      maxEventBytes: 1 << 20,
    });
    expect(input.events[0]!.canonical).toBe(false);
    const recorded = chainEvents(
      'notes-1',
      input.events,
      { version: -1, hash: GENESIS_HASH },
      '2026-12-07T20:00:00.000Z',
    );
    expect(verifyChain(recorded)).toMatchObject({ ok: true, count: 1 });
  });
});
