// One stream's appends of several commands in a transaction, sent as one append at its end.
// The executor decides a whole step transition (an outcome, the next step's policy decision,
// its attempt's start) on the state it holds under the run's lease; each command's events are
// buffered here and written by `flush` in one round trip, with the version the first command
// expected. A concurrent writer then fails the flush (ConcurrencyError), never a command
// half-way: the caller reloads and decides the transition again.
import type { AppendResult, ExpectedVersion, NewEvent } from '../domain/store/envelope.ts';
import type { EventStore } from '../domain/store/event-store.ts';

export function bufferedStream(store: EventStore, streamId: string) {
  const buffered: NewEvent[] = [];
  let expectedVersion: ExpectedVersion | undefined;
  let version = -1;

  const append: EventStore['append'] = async (id, events, options) => {
    if (id !== streamId) return store.append(id, events, options);
    if (expectedVersion === undefined) {
      expectedVersion = options.expectedVersion;
      version = typeof expectedVersion === 'number' ? expectedVersion : -1;
    } else if (options.expectedVersion !== version) {
      throw new Error(`buffered appends to ${streamId} must follow each other (at ${version})`);
    }
    buffered.push(...events);
    version += events.length;
    // Positions are known once flushed: a buffered command reports none.
    return { streamVersion: version, positions: [], duplicate: false } satisfies AppendResult;
  };

  return {
    store: { ...store, append } satisfies EventStore,
    /** Appends what was buffered; undefined when nothing was. */
    async flush(): Promise<AppendResult | undefined> {
      if (expectedVersion === undefined) return undefined;
      return store.append(streamId, buffered, { expectedVersion });
    },
  };
}
