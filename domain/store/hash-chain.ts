// The per-stream hash chain: each event's hash covers its content and the previous hash,
// so editing, deleting, inserting or reordering any event of a stream is detectable.
import { canonicalJson, sha256Hex } from '../hashing.ts';
import type { EventMetadata, RecordedEvent } from './envelope.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface HashedContent {
  streamId: string;
  streamPosition: number;
  eventId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
  recordedAt: string;
  prevHash: string;
}

/** An event's data and metadata written as JSON (validateAppend writes them once). */
export interface EventJson {
  data: string;
  metadata: string;
}

/**
 * `canonical`: the content's data and metadata already written as canonical JSON; then only
 * the envelope is written here. Its other fields are integers and strings the append checked
 * or made (ids, type, timestamp, hashes), which JSON.stringify writes as canonical JSON does.
 */
export function eventHash(content: HashedContent, canonical?: EventJson): string {
  const { streamId, streamPosition, eventId, type, schemaVersion, data, metadata, recordedAt, prevHash } =
    content;
  if (canonical) {
    return sha256Hex(
      `{"data":${canonical.data},"eventId":${JSON.stringify(eventId)},"metadata":${canonical.metadata},` +
        `"prevHash":${JSON.stringify(prevHash)},"recordedAt":${JSON.stringify(recordedAt)},` +
        `"schemaVersion":${schemaVersion},"streamId":${JSON.stringify(streamId)},` +
        `"streamPosition":${streamPosition},"type":${JSON.stringify(type)}}`,
    );
  }
  // Written in canonical key order, so that only data and metadata may need reordering.
  return sha256Hex(
    canonicalJson({
      data,
      eventId,
      metadata,
      prevHash,
      recordedAt,
      schemaVersion,
      streamId,
      streamPosition,
      type,
    }),
  );
}

export type ChainBreak =
  | { kind: 'hash_mismatch'; streamId: string; streamPosition: number; expected: string; actual: string }
  | { kind: 'prev_hash_mismatch'; streamId: string; streamPosition: number; expected: string; actual: string }
  | { kind: 'position_gap'; streamId: string; streamPosition: number; expectedPosition: number };

export type ChainVerdict = { ok: true; count: number; headHash: string } | { ok: false; break: ChainBreak };

/**
 * Checks one stream's events, read forward; reports the first broken link. `from` continues
 * a chain verified up to an earlier position (paged reads).
 */
export function verifyChain(
  events: Iterable<RecordedEvent>,
  from: { startPosition: number; prevHash: string } = { startPosition: 0, prevHash: GENESIS_HASH },
): ChainVerdict {
  let prevHash = from.prevHash;
  let expectedPosition = from.startPosition;
  for (const event of events) {
    const at = { streamId: event.streamId, streamPosition: event.streamPosition };
    if (event.streamPosition !== expectedPosition) {
      return { ok: false, break: { kind: 'position_gap', ...at, expectedPosition } };
    }
    if (event.prevHash !== prevHash) {
      return {
        ok: false,
        break: { kind: 'prev_hash_mismatch', ...at, expected: prevHash, actual: event.prevHash },
      };
    }
    const recomputed = eventHash(event);
    if (recomputed !== event.hash) {
      return { ok: false, break: { kind: 'hash_mismatch', ...at, expected: recomputed, actual: event.hash } };
    }
    prevHash = event.hash;
    expectedPosition++;
  }
  return { ok: true, count: expectedPosition, headHash: prevHash };
}
