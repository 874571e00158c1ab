// The event store port. Commands append and read streams; projections read everything
// in order. Adapters: PostgreSQL, embedded PGlite, in-memory (infra/store/).
import type { AppendResult, ExpectedVersion, NewEvent, RecordedEvent, StreamInfo } from './envelope.ts';

/**
 * Where a reader of all events stands. Opaque to callers: store it, pass it back.
 * The SQL adapters encode "<transactionId>:<globalPosition>" of the last event read.
 */
export type Checkpoint = string;
export const START: Checkpoint = '0:0';

export interface ReadStreamOptions {
  /** Position to start at (inclusive); default: the first event forward, the last backward. */
  from?: number;
  direction?: 'forward' | 'backward';
  limit?: number;
}

export interface ReadAllFilter {
  types?: string[];
  tenantId?: string;
}

export interface ReadAllOptions {
  after?: Checkpoint;
  limit?: number;
  filter?: ReadAllFilter;
}

export interface ReadAllResult {
  events: RecordedEvent[];
  /** Pass as `after` to continue. Equals `after` when nothing new was read. */
  checkpoint: Checkpoint;
}

export interface SubscribeOptions {
  after?: Checkpoint;
  filter?: ReadAllFilter;
  batchSize?: number;
  /** Fallback poll period; PostgreSQL also wakes subscribers with LISTEN/NOTIFY. */
  pollIntervalMs?: number;
  /**
   * After a batch that was not full, wait this long before reading again (default 0): a busy
   * stream is then handled in batches of what arrived meanwhile, not an event at a time.
   */
  gatherMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Handles a batch. Returning a checkpoint repositions the subscription there instead of
 * after the batch (a consumer whose stored checkpoint another process moved).
 */
export type SubscriptionHandler = (
  events: RecordedEvent[],
  checkpoint: Checkpoint,
) => // biome-ignore lint/suspicious/noConfusingVoidType: most handlers return nothing
Promise<Checkpoint | undefined | void> | Checkpoint | undefined | void;

export interface Subscription {
  /** Resolves once the handler has returned for the last batch it was given. */
  stop(): Promise<void>;
}

export interface EventStore {
  /** Atomic: every event or none. Idempotent by eventId. */
  append(
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedVersion: ExpectedVersion },
  ): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Gap-free, in commit order: a checkpoint never passes an event that commits later. */
  readAll(options?: ReadAllOptions): Promise<ReadAllResult>;
  /**
   * Resolves once every transaction running when it was called has ended, or after
   * `maxWaitMs`: a `readAll` begun then shows everything committed before the call, which a
   * transaction that began earlier and is still open would otherwise hold back. Absent: a
   * store whose reads are never held back.
   */
  settled?(maxWaitMs: number): Promise<void>;
  subscribe(handler: SubscriptionHandler, options?: SubscribeOptions): Subscription;
  streamInfo(streamId: string): Promise<StreamInfo | null>;
  /** Resolves when the store answers a trivial query; rejects with StoreUnavailableError. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
