// In-memory event store, for unit tests of later layers only. Same contract and chain;
// nothing survives the process. Appends run one at a time, so commit order = position order.
import { EventEmitter } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import { chainEvents, streamTypeOf } from '../../domain/store/chain-events.ts';
import { formatCheckpoint, parseCheckpoint } from '../../domain/store/checkpoint.ts';
import type { RecordedEvent, StreamInfo } from '../../domain/store/envelope.ts';
import type { EventStore, ReadAllOptions, ReadAllResult } from '../../domain/store/event-store.ts';
import { GENESIS_HASH } from '../../domain/store/hash-chain.ts';
import {
  ConcurrencyError,
  EventIdConflictError,
  InvalidInputError,
} from '../../domain/store/store-errors.ts';
import {
  DEFAULT_MAX_EVENT_BYTES,
  validateAppend,
  validateStreamId,
} from '../../domain/store/validate-append.ts';
import { readLimit } from './sql-event-store.ts';
import { pollingSubscription } from './subscription.ts';

export interface MemoryEventStoreOptions {
  clock?: () => Date;
  maxEventBytes?: number;
}

export function createMemoryEventStore(options: MemoryEventStoreOptions = {}): EventStore {
  const clock = options.clock ?? (() => new Date());
  const limits = { maxEventBytes: options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES };
  const all: RecordedEvent[] = [];
  const byId = new Map<string, RecordedEvent>();
  const streams = new Map<string, { events: RecordedEvent[]; info: StreamInfo }>();
  const appended = new EventEmitter();
  appended.setMaxListeners(0);

  function actualVersion(streamId: string): number {
    return (streams.get(streamId)?.events.length ?? 0) - 1;
  }

  async function readAll(readOptions: ReadAllOptions = {}): Promise<ReadAllResult> {
    const after = BigInt(parseCheckpoint(readOptions.after).globalPosition);
    const limit = readLimit(readOptions.limit);
    const { types, tenantId } = readOptions.filter ?? {};
    const events: RecordedEvent[] = [];
    for (let i = Number(after); i < all.length && events.length < limit; i++) {
      const event = all[i]!;
      if (types && !types.includes(event.type)) continue;
      if (tenantId !== undefined && event.metadata.tenantId !== tenantId) continue;
      events.push(event);
    }
    const last = events.at(-1);
    return {
      events,
      checkpoint: last ? formatCheckpoint('0', last.globalPosition) : (readOptions.after ?? '0:0'),
    };
  }

  return {
    async append(streamId, newEvents, { expectedVersion }) {
      const input = validateAppend(streamId, newEvents, expectedVersion, limits);
      const existing = input.events.map((e) => byId.get(e.eventId));
      if (existing.some(Boolean)) {
        const same = existing.every(
          (recorded, i) =>
            recorded &&
            recorded.streamId === input.streamId &&
            recorded.type === input.events[i]!.type &&
            recorded.schemaVersion === input.events[i]!.schemaVersion &&
            isDeepStrictEqual(recorded.data, input.events[i]!.data),
        );
        if (!same)
          throw new EventIdConflictError(
            input.streamId,
            input.events.map((e) => e.eventId),
          );
        return {
          streamVersion: actualVersion(input.streamId),
          duplicate: true,
          positions: existing.map((e) => ({
            eventId: e!.eventId,
            streamPosition: e!.streamPosition,
            globalPosition: e!.globalPosition,
          })),
        };
      }
      const version = actualVersion(input.streamId);
      const expected = input.expectedVersion;
      if (
        (expected === 'no_stream' && version !== -1) ||
        (expected === 'stream_exists' && version === -1) ||
        (typeof expected === 'number' && expected !== version)
      ) {
        throw new ConcurrencyError(input.streamId, expected, version);
      }
      const stream = streams.get(input.streamId);
      const recordedAt = clock().toISOString();
      const head = { version, hash: stream?.info.lastHash ?? GENESIS_HASH };
      const recorded = chainEvents(input.streamId, input.events, head, recordedAt).map((event) => {
        const withPosition = { ...event, globalPosition: String(all.length + 1) };
        all.push(withPosition);
        byId.set(event.eventId, withPosition);
        return withPosition;
      });
      const info: StreamInfo = {
        streamId: input.streamId,
        streamType: streamTypeOf(input.streamId),
        tenantId: input.tenantId,
        version: version + recorded.length,
        lastHash: recorded.at(-1)!.hash,
        createdAt: stream?.info.createdAt ?? recordedAt,
        updatedAt: recordedAt,
      };
      streams.set(input.streamId, { events: [...(stream?.events ?? []), ...recorded], info });
      appended.emit('append');
      return {
        streamVersion: info.version,
        duplicate: false,
        positions: recorded.map((e) => ({
          eventId: e.eventId,
          streamPosition: e.streamPosition,
          globalPosition: e.globalPosition,
        })),
      };
    },

    async readStream(streamId, readOptions = {}) {
      validateStreamId(streamId);
      const limit = readLimit(readOptions.limit ?? 10_000);
      const events = streams.get(streamId)?.events ?? [];
      const backward = readOptions.direction === 'backward';
      const from = readOptions.from ?? (backward ? events.length - 1 : 0);
      if (!Number.isSafeInteger(from) || from < 0)
        throw new InvalidInputError('from', 'must be an integer >= 0');
      return backward
        ? events
            .slice(0, from + 1)
            .reverse()
            .slice(0, limit)
        : events.slice(from, from + limit);
    },

    readAll,

    subscribe(handler, subscribeOptions = {}) {
      return pollingSubscription(
        readAll,
        async (wake) => {
          appended.on('append', wake);
          return async () => {
            appended.off('append', wake);
          };
        },
        handler,
        subscribeOptions,
      );
    },

    async streamInfo(streamId) {
      validateStreamId(streamId);
      return streams.get(streamId)?.info ?? null;
    },

    async ping() {},
    async close() {},
  };
}
