// The event store contract: every adapter must pass every case here.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventStore } from '../../domain/store/event-store.ts';
import { GENESIS_HASH } from '../../domain/store/hash-chain.ts';
import {
  ConcurrencyError,
  EventIdConflictError,
  InvalidInputError,
} from '../../domain/store/store-errors.ts';
import { verifyStream } from '../../infra/store/verify-stream.ts';
import { events, newEvent, sleep, steppingClock } from '../support/events.ts';
import { allAdapters, type StoreHarness } from '../support/stores.ts';

async function readEverything(store: EventStore) {
  const all = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.readAll({ after, limit: 500 });
    if (page.events.length === 0) return all;
    all.push(...page.events);
    after = page.checkpoint;
  }
}

/**
 * Every committed event once readAll shows at least `count`. A gap-free reader may lag an
 * acknowledged append while an older transaction anywhere in the database is still open
 * (other test files run beside this one), so visibility is awaited, then checked exactly.
 */
async function readEverythingOnce(store: EventStore, count: number) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const all = await readEverything(store);
    if (all.length >= count || Date.now() > deadline) return all;
    await sleep(20);
  }
}

for (const adapter of allAdapters) {
  describe.runIf(await adapter.available())(`event store contract: ${adapter.name}`, () => {
    let harness: StoreHarness;
    let store: EventStore;
    beforeEach(async () => {
      harness = await adapter.open({ clock: steppingClock(), maxEventBytes: 64 * 1024 });
      store = harness.store;
    });
    afterEach(() => harness.cleanup());

    it('records the full envelope with positions, clock time and a hash chain', async () => {
      const batch = [newEvent('A', { x: 1 }), newEvent('B', { y: [1, 'two', null] })];
      const result = await store.append('run-1', batch, { expectedVersion: 'no_stream' });
      expect(result.streamVersion).toBe(1);
      expect(result.duplicate).toBe(false);
      expect(result.positions.map((p) => p.streamPosition)).toEqual([0, 1]);

      const read = await store.readStream('run-1');
      expect(read).toHaveLength(2);
      expect(read[0]).toMatchObject({
        eventId: batch[0]!.eventId,
        streamId: 'run-1',
        streamPosition: 0,
        globalPosition: result.positions[0]!.globalPosition,
        type: 'A',
        schemaVersion: 1,
        data: { x: 1 },
        metadata: { tenantId: 'tenant-a', actor: 'test' },
        recordedAt: '2026-01-01T00:00:00.000Z',
        prevHash: GENESIS_HASH,
      });
      expect(read[1]!.prevHash).toBe(read[0]!.hash);
      expect(read[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(BigInt(read[1]!.globalPosition)).toBeGreaterThan(BigInt(read[0]!.globalPosition));
      expect(await verifyStream(store, 'run-1')).toEqual({ ok: true, count: 2, headHash: read[1]!.hash });

      const info = await store.streamInfo('run-1');
      expect(info).toMatchObject({ streamId: 'run-1', streamType: 'run', tenantId: 'tenant-a', version: 1 });
      expect(info!.lastHash).toBe(read[1]!.hash);
      expect(await store.streamInfo('run-none')).toBeNull();
    });

    it('reads back awkward JSON exactly as appended, by stream and in readAll, and its hashes verify', async () => {
      // SQL stores return each event as one JSON text built by PostgreSQL: escaping and
      // numbers must come back as they went in.
      const data = {
        text: 'é 中文 🙂 "quoted" back\\slash\nnew line\ttab \u0001 \u2028',
        numbers: [0, -1.5, 1e20, Number.MAX_SAFE_INTEGER, 0.1],
        nested: { deep: [[[]], {}], flag: true, none: null },
        ['__proto__']: { polluted: true },
      };
      const metadata = { tenantId: 'tenant-ü', actor: 'test "actor"' };
      const event = { ...newEvent('Awkward', data), metadata };
      await store.append('run-awkward', [event], { expectedVersion: 'no_stream' });
      const [byStream] = await store.readStream('run-awkward');
      const [byAll] = (await readEverythingOnce(store, 1)).filter((e) => e.streamId === 'run-awkward');
      for (const read of [byStream!, byAll!]) {
        expect(read.data).toStrictEqual(data);
        expect(Object.hasOwn(read.data as object, '__proto__')).toBe(true);
        expect(read.metadata).toStrictEqual(metadata);
        expect(read.type).toBe('Awkward');
      }
      expect(byAll).toStrictEqual(byStream);
      expect(await verifyStream(store, 'run-awkward')).toMatchObject({ ok: true, count: 1 });
    });

    it('honours every kind of expected version and reports the actual one', async () => {
      await store.append('s-1', events(3), { expectedVersion: 'no_stream' });
      const expectConflict = async (
        expectedVersion: Parameters<EventStore['append']>[2]['expectedVersion'],
        actual: number,
        streamId = 's-1',
      ) => {
        const error = await store.append(streamId, events(1), { expectedVersion }).catch((e) => e);
        expect(error).toBeInstanceOf(ConcurrencyError);
        expect(error).toMatchObject({ streamId, expectedVersion, actualVersion: actual });
      };
      await expectConflict('no_stream', 2);
      await expectConflict(1, 2);
      await expectConflict(3, 2);
      await expectConflict(-1, 2);
      await expectConflict('stream_exists', -1, 's-missing');
      await expectConflict(0, -1, 's-missing');
      expect((await store.append('s-1', events(1), { expectedVersion: 2 })).streamVersion).toBe(3);
      expect((await store.append('s-1', events(1), { expectedVersion: 'stream_exists' })).streamVersion).toBe(
        4,
      );
      expect((await store.append('s-1', events(2), { expectedVersion: 'any' })).streamVersion).toBe(6);
      expect((await store.append('s-2', events(1), { expectedVersion: 'any' })).streamVersion).toBe(0);
      expect((await store.append('s-3', events(1), { expectedVersion: -1 })).streamVersion).toBe(0);
      expect(await store.streamInfo('s-missing')).toBeNull();
      expect((await verifyStream(store, 's-1')).ok).toBe(true);
    });

    it('lets exactly one of 20 parallel appenders with the same expected version win, every time', async () => {
      for (let round = 0; round < 15; round++) {
        const streamId = `race-${round}`;
        const expectedVersion = round % 2 === 0 ? 'no_stream' : -1;
        if (round % 3 === 2) await store.append(streamId, events(2), { expectedVersion: 'no_stream' });
        const expected = round % 3 === 2 ? 1 : expectedVersion;
        const outcomes = await Promise.allSettled(
          Array.from({ length: 20 }, () => store.append(streamId, events(2), { expectedVersion: expected })),
        );
        const winners = outcomes.filter((o) => o.status === 'fulfilled');
        const losers = outcomes.filter((o) => o.status === 'rejected');
        expect(winners).toHaveLength(1);
        for (const loser of losers)
          expect((loser as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
        const stream = await store.readStream(streamId);
        expect(stream.map((e) => e.streamPosition)).toEqual(stream.map((_, i) => i));
        expect((await verifyStream(store, streamId)).ok).toBe(true);
      }
    });

    it('keeps positions gap-free when many appenders race with "any"', async () => {
      await Promise.all(
        Array.from({ length: 30 }, () => store.append('busy-1', events(3), { expectedVersion: 'any' })),
      );
      const stream = await store.readStream('busy-1');
      expect(stream).toHaveLength(90);
      expect(stream.map((e) => e.streamPosition)).toEqual(stream.map((_, i) => i));
      expect((await verifyStream(store, 'busy-1')).ok).toBe(true);
    });

    it('is idempotent by event id: a retried append returns the original positions and writes nothing', async () => {
      const batch = events(3);
      const first = await store.append('idem-1', batch, { expectedVersion: 'no_stream' });
      await store.append('idem-1', events(1), { expectedVersion: 2 });
      const retry = await store.append('idem-1', batch, { expectedVersion: 'no_stream' });
      expect(retry.duplicate).toBe(true);
      expect(retry.positions).toEqual(first.positions);
      expect(retry.streamVersion).toBe(3);
      expect(await store.readStream('idem-1')).toHaveLength(4);
      expect(await readEverythingOnce(store, 4)).toHaveLength(4);
    });

    it('refuses an event id reused with other content or in another stream', async () => {
      const original = newEvent('A', { amount: 1 });
      await store.append('idem-2', [original], { expectedVersion: 'no_stream' });
      const changed = { ...original, data: { amount: 2 } };
      await expect(store.append('idem-2', [changed], { expectedVersion: 'any' })).rejects.toBeInstanceOf(
        EventIdConflictError,
      );
      await expect(store.append('idem-3', [original], { expectedVersion: 'any' })).rejects.toBeInstanceOf(
        EventIdConflictError,
      );
      await expect(
        store.append('idem-2', [original, newEvent()], { expectedVersion: 'any' }),
      ).rejects.toBeInstanceOf(EventIdConflictError);
      expect(await readEverythingOnce(store, 1)).toHaveLength(1);
      expect(await store.streamInfo('idem-3')).toBeNull();
    });

    it('reads a stream forward and backward, from a position, with a limit', async () => {
      await store.append('read-1', events(10), { expectedVersion: 'no_stream' });
      const positions = async (options: Parameters<EventStore['readStream']>[1]) =>
        (await store.readStream('read-1', options)).map((e) => e.streamPosition);
      expect(await positions({})).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(await positions({ from: 7 })).toEqual([7, 8, 9]);
      expect(await positions({ from: 2, limit: 3 })).toEqual([2, 3, 4]);
      expect(await positions({ direction: 'backward', limit: 3 })).toEqual([9, 8, 7]);
      expect(await positions({ direction: 'backward', from: 4 })).toEqual([4, 3, 2, 1, 0]);
      expect(await positions({ from: 20 })).toEqual([]);
      expect(await store.readStream('read-none')).toEqual([]);
    });

    it('reads all events in order, page by page, filtered by type and tenant', async () => {
      await store.append('all-1', [newEvent('A', {}, 't1'), newEvent('B', {}, 't1')], {
        expectedVersion: 'any',
      });
      await store.append('all-2', [newEvent('A', {}, 't2')], { expectedVersion: 'any' });
      await store.append('all-1', [newEvent('C', {}, 't1')], { expectedVersion: 'any' });
      const everything = await readEverythingOnce(store, 4);
      expect(everything.map((e) => e.type)).toEqual(['A', 'B', 'A', 'C']);
      const page1 = await store.readAll({ limit: 3 });
      const page2 = await store.readAll({ after: page1.checkpoint, limit: 3 });
      expect([...page1.events, ...page2.events].map((e) => e.eventId)).toEqual(
        everything.map((e) => e.eventId),
      );
      const page3 = await store.readAll({ after: page2.checkpoint });
      expect(page3).toEqual({ events: [], checkpoint: page2.checkpoint });
      expect((await store.readAll({ filter: { types: ['A'] } })).events.map((e) => e.streamId)).toEqual([
        'all-1',
        'all-2',
      ]);
      expect((await store.readAll({ filter: { tenantId: 't2' } })).events.map((e) => e.type)).toEqual(['A']);
      expect((await store.readAll({ filter: { tenantId: 't1', types: ['C'] } })).events).toHaveLength(1);
      await expect(store.readAll({ after: 'nonsense' })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(store.readAll({ limit: 0 })).rejects.toBeInstanceOf(InvalidInputError);
    });

    it('delivers new events to a subscriber in order, once', async () => {
      await store.append('sub-0', events(2), { expectedVersion: 'any' });
      const seen: string[] = [];
      const subscription = store.subscribe(
        (batch) => {
          seen.push(...batch.map((e) => e.eventId));
        },
        { pollIntervalMs: 50, batchSize: 7 },
      );
      const written: string[] = [];
      for (let i = 0; i < 10; i++) {
        const batch = events(3);
        written.push(...batch.map((e) => e.eventId));
        await store.append(`sub-${i % 3}`, batch, { expectedVersion: 'any' });
      }
      const deadline = Date.now() + 10_000;
      while (seen.length < 32 && Date.now() < deadline) await sleep(20);
      await subscription.stop();
      expect(seen).toHaveLength(32);
      expect(seen.slice(2)).toEqual(written);
      expect(new Set(seen).size).toBe(32);
    });

    describe('refuses bad input with a typed error and writes nothing', () => {
      const bad: [string, () => Parameters<EventStore['append']>][] = [
        ['empty stream id', () => ['', events(1), { expectedVersion: 'any' }]],
        ['over-long stream id', () => ['s'.repeat(201), events(1), { expectedVersion: 'any' }]],
        ['stream id with spaces', () => ['run 1', events(1), { expectedVersion: 'any' }]],
        ['no events', () => ['s-1', [], { expectedVersion: 'any' }]],
        ['a function in data', () => ['s-1', [newEvent('A', { f: () => 1 })], { expectedVersion: 'any' }]],
        ['a bigint in data', () => ['s-1', [newEvent('A', { n: 10n })], { expectedVersion: 'any' }]],
        ['NaN in data', () => ['s-1', [newEvent('A', { n: Number.NaN })], { expectedVersion: 'any' }]],
        ['a Date in data', () => ['s-1', [newEvent('A', { d: new Date(0) })], { expectedVersion: 'any' }]],
        ['undefined in data', () => ['s-1', [newEvent('A', { u: undefined })], { expectedVersion: 'any' }]],
        ['a NUL character', () => ['s-1', [newEvent('A', { s: 'a\u0000b' })], { expectedVersion: 'any' }]],
        ['a lone surrogate', () => ['s-1', [newEvent('A', { s: '\ud800' })], { expectedVersion: 'any' }]],
        [
          'a cycle',
          () => {
            const cyclic: Record<string, unknown> = {};
            cyclic.self = cyclic;
            return ['s-1', [newEvent('A', cyclic)], { expectedVersion: 'any' }];
          },
        ],
        [
          'a payload over the limit',
          () => ['s-1', [newEvent('A', { s: 'x'.repeat(70_000) })], { expectedVersion: 'any' }],
        ],
        ['a malformed expected version', () => ['s-1', events(1), { expectedVersion: 'latest' as never }]],
        ['a fractional expected version', () => ['s-1', events(1), { expectedVersion: 1.5 }]],
        [
          'an event id that is not a uuid',
          () => ['s-1', [{ ...newEvent(), eventId: 'x' }], { expectedVersion: 'any' }],
        ],
        [
          'metadata without a tenant',
          () => ['s-1', [{ ...newEvent(), metadata: {} as never }], { expectedVersion: 'any' }],
        ],
        [
          'a repeated event id',
          () => {
            const e = newEvent();
            return ['s-1', [e, e], { expectedVersion: 'any' }];
          },
        ],
        [
          'mixed tenants',
          () => ['s-1', [newEvent('A', {}, 't1'), newEvent('A', {}, 't2')], { expectedVersion: 'any' }],
        ],
      ];
      for (const [name, args] of bad) {
        it(name, async () => {
          const [streamId, evs, options] = args();
          const error = await store.append(streamId, evs, options).catch((e) => e);
          expect(error).toBeInstanceOf(InvalidInputError);
          expect((error as InvalidInputError).field).toBeTruthy();
          expect((await store.readAll()).events).toEqual([]);
          expect(await store.streamInfo('s-1')).toBeNull();
        });
      }
    });
  });
}
