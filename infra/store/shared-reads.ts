// Reads of all events shared by the readers of one process. Every consumer of a server (each
// projection, the run-queue feeder, the webhook enqueuer, the Kafka publisher) reads every
// event from its own checkpoint; when they move together — a rebuild, a catch-up — they ask
// for the same page at about the same time, and each paid the query and the parsing of every
// row. Identical reads in flight are now one query, and a page that came back full is kept
// for the next reader that asks for it: the gap-free reader's full page is final (every event
// committed later sorts after it). A page that was not full is not kept: a reader at the head
// of the store reads afresh. Callers get their own array; the events are shared, read-only.
import type { ReadAllOptions, ReadAllResult } from '../../domain/store/event-store.ts';

/** Full pages kept (most recently read first to stay): a few batches of every reader. */
const KEPT_PAGES = 8;

export function sharedReads(
  readAll: (options: ReadAllOptions) => Promise<ReadAllResult>,
  readLimit: (limit: number | undefined) => number,
): (options?: ReadAllOptions) => Promise<ReadAllResult> {
  const kept = new Map<string, Promise<ReadAllResult>>();
  return async (options = {}) => {
    const limit = readLimit(options.limit);
    const { types, tenantId } = options.filter ?? {};
    const key = JSON.stringify([options.after ?? '0:0', limit, types ?? null, tenantId ?? null]);
    let read = kept.get(key);
    if (read) {
      kept.delete(key);
      kept.set(key, read);
    } else {
      read = readAll(options);
      const shared = read;
      kept.set(key, shared);
      const forget = () => {
        if (kept.get(key) === shared) kept.delete(key);
      };
      shared.then((result) => {
        if (result.events.length < limit) forget();
      }, forget);
      if (kept.size > KEPT_PAGES) kept.delete(kept.keys().next().value!);
    }
    const result = await read;
    return { events: result.events.slice(), checkpoint: result.checkpoint };
  };
}
