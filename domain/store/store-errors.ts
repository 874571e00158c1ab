// Typed errors of the event store port. Every adapter raises these, never driver errors.
import type { ExpectedVersion } from './envelope.ts';

export class ConcurrencyError extends Error {
  override readonly name = 'ConcurrencyError';
  constructor(
    readonly streamId: string,
    readonly expectedVersion: ExpectedVersion,
    /** -1 when the stream does not exist. */
    readonly actualVersion: number,
  ) {
    super(`stream ${streamId}: expected version ${expectedVersion}, actual ${actualVersion}`);
  }
}

/** The same eventId was appended before with different content (or to another stream). */
export class EventIdConflictError extends Error {
  override readonly name = 'EventIdConflictError';
  constructor(
    readonly streamId: string,
    readonly eventIds: string[],
  ) {
    super(`stream ${streamId}: event id(s) ${eventIds.join(', ')} already recorded with different content`);
  }
}

/** Refused before anything was written or read; `field` names what is wrong. */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid input: ${field}: ${reason}`);
  }
}

/** The store could not be reached (connection refused, server down, pool closed). */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
