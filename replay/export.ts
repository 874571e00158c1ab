// The streaming exporter: reads a tenant's events page by page through the store's port and
// yields the export file (replay/export-format.ts) as text chunks, one chunk per page, the
// signed manifest last. It holds one page and the manifest's running state (per stream: a few
// numbers and two hashes; the Merkle builder: one hash per tree level), never the export.
//
// What is exported:
// - a stream (`streamId`) or a run (`runId` → stream `run-<runId>`): that stream, read with
//   `readStream` up to its version when the export starts; a run's export also holds its
//   child runs' streams (ChildRunStarted), theirs in turn, so a tree is replayed and certified
//   whole. Another tenant's stream is "not found", exactly like a missing one.
// - otherwise the whole tenant: `readAll` filtered by tenant, in the store's gap-free commit
//   order, until the reader has caught up.
// - `from` / `to` (ISO-8601, inclusive / exclusive) bound `recordedAt`. Each stream's slice is
//   kept contiguous so that its chain still verifies: it starts at the stream's first event at
//   or after `from` and stops at its first event at or after `to`. An export may therefore
//   begin in the middle of a stream; the manifest records where (firstPosition, firstPrevHash).
import { inCanonicalKeyOrder } from '../domain/canonical-json.ts';
import type { RecordedEvent } from '../domain/store/envelope.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import type { ManifestSigner } from '../infra/signing/signing-key.ts';
import { toCloudEvent } from './export-cloudevents.ts';
import type { ExportFilter } from './export-format.ts';
import { ManifestBuilder, manifestLine } from './export-manifest.ts';

export type ExportFormat = 'jsonl' | 'cloudevents';

export const EXPORT_PAGE_SIZE = 1000;

export class ExportNotFoundError extends Error {
  override readonly name = 'ExportNotFoundError';
}

export type ExportStore = Pick<EventStore, 'readAll' | 'readStream' | 'streamInfo' | 'settled'>;

export interface ExportOptions {
  signer: ManifestSigner;
  format?: ExportFormat;
  clock?: () => Date;
  pageSize?: number;
}

/** The stream an export is limited to, if any. */
export function exportedStreamId(filter: ExportFilter): string | undefined {
  return filter.streamId ?? (filter.runId !== undefined ? `run-${filter.runId}` : undefined);
}

/** The filter as the manifest records it: only the bounds that were given. */
export function normalizeFilter(filter: ExportFilter): ExportFilter {
  return {
    tenantId: filter.tenantId,
    ...(filter.streamId !== undefined ? { streamId: filter.streamId } : {}),
    ...(filter.runId !== undefined ? { runId: filter.runId } : {}),
    ...(filter.from !== undefined ? { from: filter.from } : {}),
    ...(filter.to !== undefined ? { to: filter.to } : {}),
  };
}

type Pages = AsyncGenerator<RecordedEvent[]>;

async function* streamPages(
  store: ExportStore,
  streamId: string,
  lastPosition: number,
  pageSize: number,
): Pages {
  let from = 0;
  while (from <= lastPosition) {
    const events = await store.readStream(streamId, { from, limit: pageSize });
    const page = events.filter((event) => event.streamPosition <= lastPosition);
    if (page.length > 0) yield page;
    if (events.length < pageSize) return;
    from = events.at(-1)!.streamPosition + 1;
  }
}

/** The run's stream, then each child run's it started (and theirs), each up to where it stood. */
async function* runTreePages(
  store: ExportStore,
  rootStreamId: string,
  rootVersion: number,
  pageSize: number,
): Pages {
  const queue: Array<{ streamId: string; version: number }> = [
    { streamId: rootStreamId, version: rootVersion },
  ];
  const seen = new Set([rootStreamId]);
  for (let next = queue.shift(); next; next = queue.shift()) {
    for await (const page of streamPages(store, next.streamId, next.version, pageSize)) {
      yield page;
      for (const event of page) {
        if (event.type !== 'ChildRunStarted') continue;
        const child = `run-${(event.data as { childRunId: string }).childRunId}`;
        const info = seen.has(child) ? null : await store.streamInfo(child);
        seen.add(child);
        if (info) queue.push({ streamId: child, version: info.version });
      }
    }
  }
}

async function* tenantPages(store: ExportStore, tenantId: string, pageSize: number): Pages {
  let after: string | undefined;
  for (;;) {
    const { events, checkpoint } = await store.readAll({
      ...(after !== undefined ? { after } : {}),
      limit: pageSize,
      filter: { tenantId },
    });
    if (events.length > 0) yield events;
    if (events.length < pageSize) return;
    after = checkpoint;
  }
}

/** Keeps each stream's slice of a time range contiguous (see the header). */
function timeWindow(filter: ExportFilter): ((event: RecordedEvent) => boolean) | null {
  if (filter.from === undefined && filter.to === undefined) return null;
  const from = filter.from !== undefined ? Date.parse(filter.from) : Number.NEGATIVE_INFINITY;
  const to = filter.to !== undefined ? Date.parse(filter.to) : Number.POSITIVE_INFINITY;
  const state = new Map<string, 'in' | 'done'>();
  return (event) => {
    const current = state.get(event.streamId);
    if (current === 'done') return false;
    const at = Date.parse(event.recordedAt);
    if (at >= to) {
      state.set(event.streamId, 'done');
      return false;
    }
    if (current === 'in') return true;
    if (at < from) return false;
    state.set(event.streamId, 'in');
    return true;
  };
}

/** How long a tenant export waits for transactions running when it was asked to end. */
const EXPORT_SETTLE_MS = 2000;

/**
 * Checks the filter against the store (a stream or run of another tenant, or none, is
 * ExportNotFoundError) and returns the export's text, produced as it is consumed.
 */
export async function openExport(
  store: ExportStore,
  filter: ExportFilter,
  options: ExportOptions,
): Promise<AsyncGenerator<string>> {
  const pageSize = options.pageSize ?? EXPORT_PAGE_SIZE;
  const streamId = exportedStreamId(filter);
  let pages: Pages;
  if (streamId !== undefined) {
    const info = await store.streamInfo(streamId);
    if (!info) throw new ExportNotFoundError(`no stream ${streamId}`);
    let tenantId = info.tenantId;
    if (tenantId === null) {
      const [first] = await store.readStream(streamId, { from: 0, limit: 1 });
      tenantId = first?.metadata.tenantId ?? null;
    }
    if (tenantId !== filter.tenantId) throw new ExportNotFoundError(`no stream ${streamId}`);
    pages =
      filter.runId !== undefined
        ? runTreePages(store, streamId, info.version, pageSize)
        : streamPages(store, streamId, info.version, pageSize);
  } else {
    // Everything committed before the request, though a transaction begun earlier (a read
    // model's batch) still runs: the gap-free reader would stop short of it meanwhile.
    await store.settled?.(EXPORT_SETTLE_MS);
    pages = tenantPages(store, filter.tenantId, pageSize);
  }
  return exportText(pages, normalizeFilter(filter), options);
}

async function* exportText(
  pages: Pages,
  filter: ExportFilter,
  options: ExportOptions,
): AsyncGenerator<string> {
  const manifest = new ManifestBuilder(filter);
  const inWindow = timeWindow(filter);
  const cloudEvents = options.format === 'cloudevents';
  for await (const page of pages) {
    let chunk = '';
    for (const event of page) {
      if (inWindow && !inWindow(event)) continue;
      manifest.add(event);
      // Data and metadata in canonical key order: a reader hashes them without sorting.
      const line = {
        ...event,
        data: inCanonicalKeyOrder(event.data),
        metadata: inCanonicalKeyOrder(event.metadata),
      };
      chunk += `${JSON.stringify(cloudEvents ? toCloudEvent(line) : line)}\n`;
    }
    if (chunk !== '') yield chunk;
  }
  const createdAt = (options.clock ?? (() => new Date()))().toISOString();
  yield manifestLine(manifest.finish(options.signer, createdAt));
}

/** Writes an export of in-memory events (tests, benchmarks): the same text the store export gives. */
export async function* exportEvents(
  events: Iterable<RecordedEvent> | AsyncIterable<RecordedEvent>,
  filter: ExportFilter,
  options: ExportOptions,
): AsyncGenerator<string> {
  const pageSize = options.pageSize ?? EXPORT_PAGE_SIZE;
  async function* paged(): Pages {
    let page: RecordedEvent[] = [];
    for await (const event of events) {
      page.push(event);
      if (page.length >= pageSize) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }
  yield* exportText(paged(), normalizeFilter(filter), options);
}
