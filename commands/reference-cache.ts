// Reference data read on every submission and failure — a tenant's policy, the price table,
// the failure catalog, the drift breaker's basis — kept per store for a moment instead of read
// each time. Whatever this process puts in force forgets its entry at once (`forgetReference`,
// called by the commands that write these streams); a version put in force by another process
// is announced by the store (`watchReferenceWrites`: a NOTIFY from a trigger on those streams,
// migration 170) and forgotten when heard; REFERENCE_TTL_MS bounds how long a lost
// announcement can leave an old version in use. Every run and classification records the
// version it used, so such a read is visible in the audit, never silent.
import type { EventStore } from '../domain/store/event-store.ts';

export const REFERENCE_TTL_MS = 1000;

const caches = new WeakMap<EventStore, Map<string, { readAt: number; value: Promise<unknown> }>>();

function cacheOf(store: EventStore) {
  let cache = caches.get(store);
  if (!cache) {
    cache = new Map();
    caches.set(store, cache);
  }
  return cache;
}

/** `read` of the stream `streamId`, answered from the last read while it is fresh. */
export function cachedReference<T>(store: EventStore, streamId: string, read: () => Promise<T>): Promise<T> {
  const cache = cacheOf(store);
  const now = performance.now();
  const entry = cache.get(streamId);
  if (entry && now - entry.readAt < REFERENCE_TTL_MS) return entry.value as Promise<T>;
  const value = read();
  cache.set(streamId, { readAt: now, value });
  // A failed read is not kept.
  value.catch(() => {
    if (cache.get(streamId)?.value === value) cache.delete(streamId);
  });
  return value;
}

/** The channel migration 170's trigger notifies when a reference stream is written. */
export const REFERENCE_WRITTEN_CHANNEL = 'aos_reference_written';

/**
 * Forgets every cached reference of `store` whenever one is written, in any process; resolves
 * to the unwatch function. `listen`: the store's client's (SqlClient.listen).
 */
export function watchReferenceWrites(
  store: EventStore,
  listen: (channel: string, onNotify: () => void) => Promise<() => Promise<void>>,
): Promise<() => Promise<void>> {
  return listen(REFERENCE_WRITTEN_CHANNEL, () => caches.get(store)?.clear());
}

/** The stream was written here: the next read reads it. */
export function forgetReference(store: EventStore, streamId: string): void {
  caches.get(store)?.delete(streamId);
}
