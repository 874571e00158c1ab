// Appends of several commands held to be sent together, one append per stream. The budget
// ledger's transaction (BudgetLedger.together) holds a whole step transition — an outcome, the
// next step's policy decision and its attempt's start on the run's stream, a close and the next
// reservation on its ledger — and sends it as one statement (aos_transitions), with the version
// each stream's first command expected. A concurrent writer then fails that statement, never a
// command half-way, and the transaction is done again one append per command.
import type { AppendResult, ExpectedVersion, NewEvent } from '../../domain/store/envelope.ts';
import type { EventStore } from '../../domain/store/event-store.ts';

/** A stream's held appends: the version the first expected, and every event in order. */
export interface HeldAppend {
  streamId: string;
  expectedVersion: ExpectedVersion;
  events: NewEvent[];
}

/**
 * `store` with its appends held. Reading a stream with held appends cannot show them: it throws
 * `unreadable()` (the caller's cue to do the work again with each append sent at once).
 */
export function bufferedAppends(store: EventStore, unreadable: () => Error) {
  const streams = new Map<string, HeldAppend & { version: number }>();

  const append: EventStore['append'] = async (streamId, events, options) => {
    let held = streams.get(streamId);
    if (!held) {
      const { expectedVersion } = options;
      held = {
        streamId,
        expectedVersion,
        version: typeof expectedVersion === 'number' ? expectedVersion : -1,
        events: [],
      };
      streams.set(streamId, held);
    } else if (options.expectedVersion !== held.version) {
      throw new Error(`buffered appends to ${streamId} must follow each other (at ${held.version})`);
    }
    held.events.push(...events);
    held.version += events.length;
    // Positions are known once sent: a held command reports none.
    return { streamVersion: held.version, positions: [], duplicate: false } satisfies AppendResult;
  };

  const readStream: EventStore['readStream'] = async (streamId, options) => {
    if (streams.has(streamId)) throw unreadable();
    return store.readStream(streamId, options);
  };

  return {
    store: { ...store, append, readStream } satisfies EventStore,
    /** Every stream's held appends, in the order the streams were first appended to. */
    held(): HeldAppend[] {
      return [...streams.values()].map(({ streamId, expectedVersion, events }) => ({
        streamId,
        expectedVersion,
        events,
      }));
    },
  };
}
