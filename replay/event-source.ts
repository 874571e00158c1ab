// Where replay reads recorded events from: an export file (JSON lines or CloudEvents, the
// manifest last) or a store's gap-free readAll. Both push events in commit order to one
// callback, so the same consumers (fold, certification, what-if) work on either.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { RecordedEvent } from '../domain/store/envelope.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import { fromCloudEvent, isCloudEvent } from './export-cloudevents.ts';
import type { ExportManifest } from './export-format.ts';
import { forEachLine } from './verify-file.ts';

export interface SourceProgress {
  /** Bytes read of totalBytes (a file) or events read (a store, totalBytes unknown: 0). */
  done: number;
  total: number;
  events: number;
}

export type OnEvent = (event: RecordedEvent) => void;

/** A line that is not an event nor the manifest: replay stops there (verify says why). */
export class ExportReadError extends Error {
  override readonly name = 'ExportReadError';
}

const EVENT_FIELDS = ['eventId', 'streamId', 'streamPosition', 'type', 'data', 'metadata', 'recordedAt'];

export async function readExportFile(
  path: string,
  onEvent: OnEvent,
  onProgress?: (progress: SourceProgress) => void,
): Promise<{ events: number; manifest: ExportManifest | null }> {
  const totalBytes = (await stat(path)).size;
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let lineNumber = 0;
  let events = 0;
  let manifest: ExportManifest | null = null;
  await forEachLine(
    stream as AsyncIterable<string>,
    (line) => {
      lineNumber++;
      if (line === '') return;
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new ExportReadError(`${path}:${lineNumber}: not JSON (${(error as Error).message})`);
      }
      if (typeof value !== 'object' || value === null) {
        throw new ExportReadError(`${path}:${lineNumber}: not an event nor a manifest`);
      }
      if ('manifest' in value) {
        manifest = value.manifest as ExportManifest;
        return;
      }
      const event = isCloudEvent(value) ? fromCloudEvent(value) : (value as unknown as RecordedEvent);
      const missing = EVENT_FIELDS.filter(
        (field) => (event as unknown as Record<string, unknown>)[field] === undefined,
      );
      if (missing.length > 0) {
        throw new ExportReadError(`${path}:${lineNumber}: not an event (no ${missing.join(', ')})`);
      }
      events++;
      onEvent(event);
    },
    onProgress ? () => onProgress({ done: stream.bytesRead, total: totalBytes, events }) : undefined,
  );
  return { events, manifest };
}

export async function readStoreEvents(
  store: Pick<EventStore, 'readAll'>,
  onEvent: OnEvent,
  options: { tenantId?: string; pageSize?: number; onProgress?: (progress: SourceProgress) => void } = {},
): Promise<{ events: number }> {
  const limit = options.pageSize ?? 5_000;
  let after: string | undefined;
  let events = 0;
  for (;;) {
    const page = await store.readAll({
      limit,
      ...(after !== undefined ? { after } : {}),
      ...(options.tenantId !== undefined ? { filter: { tenantId: options.tenantId } } : {}),
    });
    for (const event of page.events) onEvent(event);
    events += page.events.length;
    options.onProgress?.({ done: events, total: 0, events });
    if (page.events.length < limit) return { events };
    after = page.checkpoint;
  }
}
