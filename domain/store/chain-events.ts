// Turns the events validateAppend checked into recorded ones on top of a stream head:
// positions, recordedAt and the hash chain. Shared by every adapter so all chain identically.
import type { RecordedEvent } from './envelope.ts';
import { eventHash } from './hash-chain.ts';
import type { ValidatedEvent } from './validate-append.ts';

export interface StreamHead {
  /** -1 for a new stream. */
  version: number;
  hash: string;
}

/** `globalPosition` is left empty: the store assigns it. */
export function chainEvents(
  streamId: string,
  events: readonly ValidatedEvent[],
  head: StreamHead,
  recordedAt: string,
): RecordedEvent[] {
  let prevHash = head.hash;
  return events.map((event, i) => {
    const content = {
      streamId,
      streamPosition: head.version + 1 + i,
      eventId: event.eventId,
      type: event.type,
      schemaVersion: event.schemaVersion,
      data: event.data,
      metadata: event.metadata,
      recordedAt,
      prevHash,
    };
    const hash = eventHash(content, event.canonical ? event.json : undefined);
    prevHash = hash;
    // Object.assign: on Node 20 a spread adding keys (`{ ...content, hash }`) is ~10 times slower.
    return Object.assign(content, { globalPosition: '', hash });
  });
}

/** The stream type is the stream id's prefix before the first '-' ("run-42" → "run"). */
export function streamTypeOf(streamId: string): string {
  const dash = streamId.indexOf('-');
  return dash > 0 ? streamId.slice(0, dash) : streamId;
}
