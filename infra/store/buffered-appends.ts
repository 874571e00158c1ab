// Appends of several commands in a transaction, sent as one append per stream at its end.
// The budget ledger's transaction (BudgetLedger.together) holds a whole step transition — an
// outcome, the next step's policy decision and its attempt's start on the run's stream, a close
// and the next reservation on its ledger — so each stream costs one round trip, with the version
// its first command expected. A concurrent writer then fails the flush (ConcurrencyError), never
// a command half-way: the transaction is done again, one append per command.
import type { AppendResult, ExpectedVersion, NewEvent } from '../../domain/store/envelope.ts';
import type { EventStore } from '../../domain/store/event-store.ts';

interface Buffered {
  expectedVersion: ExpectedVersion;
  version: number;
  events: NewEvent[];
}

/** A buffered stream's events as they were appended. */
export interface Flushed {
  streamId: string;
  events: readonly NewEvent[];
  result: AppendResult;
}

/** A read of a buffered stream appends its buffer first, so what was written is read back. */
export function bufferedAppends(store: EventStore) {
  const streams = new Map<string, Buffered>();
  const flushed: Flushed[] = [];

  async function flushStream(streamId: string) {
    const buffered = streams.get(streamId);
    if (!buffered) return;
    streams.delete(streamId);
    const { events, expectedVersion } = buffered;
    flushed.push({ streamId, events, result: await store.append(streamId, events, { expectedVersion }) });
  }

  const append: EventStore['append'] = async (streamId, events, options) => {
    let buffered = streams.get(streamId);
    if (!buffered) {
      const { expectedVersion } = options;
      buffered = {
        expectedVersion,
        version: typeof expectedVersion === 'number' ? expectedVersion : -1,
        events: [],
      };
      streams.set(streamId, buffered);
    } else if (options.expectedVersion !== buffered.version) {
      throw new Error(`buffered appends to ${streamId} must follow each other (at ${buffered.version})`);
    }
    buffered.events.push(...events);
    buffered.version += events.length;
    // Positions are known once flushed: a buffered command reports none.
    return { streamVersion: buffered.version, positions: [], duplicate: false } satisfies AppendResult;
  };

  const readStream: EventStore['readStream'] = async (streamId, options) => {
    await flushStream(streamId);
    return store.readStream(streamId, options);
  };

  return {
    store: { ...store, append, readStream } satisfies EventStore,
    /** Appends what is still buffered; answers every buffered stream's append, in order. */
    async flush(): Promise<Flushed[]> {
      for (const streamId of [...streams.keys()]) await flushStream(streamId);
      return flushed;
    },
  };
}
