// Where replay reads recorded events from: an export file (JSON lines or CloudEvents, the
// manifest last; verified in a worker thread while it is read) or a store's gap-free readAll. Both push events in commit order to one
// callback, so the same consumers (fold, certification, what-if) work on either.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { RecordedEvent } from '../domain/store/envelope.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import type { ExportManifest } from './export-format.ts';
import { parseExportLine } from './export-line.ts';
import { forEachLine } from './text-lines.ts';
import type { VerifyOptions, VerifyReport } from './verify.ts';
import { verifyFileInWorker } from './verify-file.ts';

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

/** What the fold reads of an event; a line without one of them cannot be folded at all. */
const FOLDED_FIELDS = ['eventId', 'type', 'data', 'metadata', 'recordedAt'] as const;

/**
 * Reads an export file and pushes its events to `onEvent`, while a worker thread verifies the
 * same file as `aos verify` does (hashes, chains, the manifest, and the signature when a public
 * key is given): the fold and the verification run side by side. The caller decides what an
 * export that does not verify is worth: the report says. A line that is neither an event nor
 * the manifest stops the read (ExportReadError).
 */
export async function readExportFile(
  path: string,
  onEvent: OnEvent,
  options: VerifyOptions & { onProgress?: (progress: SourceProgress) => void } = {},
): Promise<{ events: number; manifest: ExportManifest | null; verification: VerifyReport }> {
  const totalBytes = (await stat(path)).size;
  const { onProgress, ...verifyOptions } = options;
  const verifying = verifyFileInWorker(path, verifyOptions);
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let lines = 0;
  let events = 0;
  let manifest: ExportManifest | null = null;
  try {
    await forEachLine(
      stream as AsyncIterable<string>,
      (text) => {
        lines++;
        // Lines after the manifest are not part of the export (the verifier reports them).
        if (manifest) return;
        const line = parseExportLine(text);
        if (line.kind === 'broken') throw new ExportReadError(`${path}:${lines}: ${line.message}`);
        if (line.kind === 'manifest') manifest = line.manifest;
        if (line.kind !== 'event') return;
        if (!FOLDED_FIELDS.every((field) => line.event[field] !== undefined)) {
          const missing = FOLDED_FIELDS.filter((field) => line.event[field] === undefined);
          throw new ExportReadError(`${path}:${lines}: not an event (no ${missing.join(', ')})`);
        }
        events++;
        onEvent(line.event);
      },
      onProgress ? () => onProgress({ done: stream.bytesRead, total: totalBytes, events }) : undefined,
    );
  } catch (error) {
    await verifying.stop();
    throw error;
  }
  return { events, manifest, verification: await verifying.report };
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
