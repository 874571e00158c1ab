// Where replay reads recorded events from: an export file (JSON lines or CloudEvents, the
// manifest last; verified line by line while it is read) or a store's gap-free readAll. Both push events in commit order to one
// callback, so the same consumers (fold, certification, what-if) work on either.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { RecordedEvent } from '../domain/store/envelope.ts';
import type { EventStore } from '../domain/store/event-store.ts';
import type { ExportManifest } from './export-format.ts';
import { ExportVerifier, type VerifyOptions, type VerifyReport } from './verify.ts';
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

/** What the fold reads of an event; a line without one of them cannot be folded at all. */
const FOLDED_FIELDS = ['eventId', 'type', 'data', 'metadata', 'recordedAt'] as const;

/**
 * Reads an export file, verifying every line as `aos verify` does (hashes, chains, the
 * manifest, and the signature when a public key is given) while it pushes the events to
 * `onEvent`. The caller decides what an export that does not verify is worth: the report says.
 */
export async function readExportFile(
  path: string,
  onEvent: OnEvent,
  options: VerifyOptions & { onProgress?: (progress: SourceProgress) => void } = {},
): Promise<{ events: number; manifest: ExportManifest | null; verification: VerifyReport }> {
  const totalBytes = (await stat(path)).size;
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const verifier = new ExportVerifier(options);
  let events = 0;
  let manifest: ExportManifest | null = null;
  const { onProgress } = options;
  await forEachLine(
    stream as AsyncIterable<string>,
    (text) => {
      const line = verifier.line(text);
      if (line?.kind === 'broken')
        throw new ExportReadError(`${path}:${verifier.linesRead}: ${line.message}`);
      if (line?.kind === 'manifest') manifest = line.manifest;
      if (line?.kind !== 'event') return;
      const missing = FOLDED_FIELDS.filter((field) => line.event[field] === undefined);
      if (missing.length > 0) {
        throw new ExportReadError(`${path}:${verifier.linesRead}: not an event (no ${missing.join(', ')})`);
      }
      events++;
      onEvent(line.event);
    },
    onProgress ? () => onProgress({ done: stream.bytesRead, total: totalBytes, events }) : undefined,
  );
  return { events, manifest, verification: verifier.finish() };
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
