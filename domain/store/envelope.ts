// The shape of events going into and coming out of the event store.
import { z } from 'zod';

export const eventMetadataSchema = z
  .object({
    tenantId: z.string().min(1).max(128),
    correlationId: z.string().max(256).optional(),
    causationId: z.string().max(256).optional(),
    actor: z.string().max(256).optional(),
    commandId: z.string().max(256).optional(),
    traceId: z.string().max(128).optional(),
    spanId: z.string().max(128).optional(),
  })
  .strict();
export type EventMetadata = z.infer<typeof eventMetadataSchema>;

/** An event a caller wants to append. `eventId` makes the append idempotent. */
export interface NewEvent {
  eventId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
}

/** An event as the store recorded it. */
export interface RecordedEvent {
  eventId: string;
  streamId: string;
  /** 0-based revision within the stream. */
  streamPosition: number;
  /** Position in the whole store; a bigint, so carried as a decimal string. */
  globalPosition: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
  /** ISO-8601 UTC, from the store's injected clock. */
  recordedAt: string;
  prevHash: string;
  hash: string;
}

/**
 * `expectedVersion` of an append: the revision of the stream's last event, or a condition.
 * A new stream has version -1.
 */
export type ExpectedVersion = number | 'no_stream' | 'stream_exists' | 'any';

export interface AppendResult {
  /** The stream's version after the append (the last event's streamPosition). */
  streamVersion: number;
  /** Positions of the appended events, in order. */
  positions: { eventId: string; streamPosition: number; globalPosition: string }[];
  /** True when every event was already recorded: nothing was written. */
  duplicate: boolean;
}

export interface StreamInfo {
  streamId: string;
  streamType: string;
  tenantId: string | null;
  version: number;
  lastHash: string;
  createdAt: string;
  updatedAt: string;
}
