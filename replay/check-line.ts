// The part of verifying a line that needs no other line: parse it (replay/export-line.ts) and
// recompute its event's hash. What it answers is all the verifier (replay/verify.ts) keeps of
// the line — no data, no metadata — so lines can be checked on several threads and their
// answers followed in file order on one (replay/check-lines-in-worker.ts).
import { eventHash } from '../domain/store/hash-chain.ts';
import type { ExportManifest } from './export-format.ts';
import { parseExportLine } from './export-line.ts';
import { eachLineOf } from './text-lines.ts';

export type CheckedLine =
  | { kind: 'blank' }
  | { kind: 'manifest'; manifest: ExportManifest }
  | { kind: 'broken'; message: string }
  | {
      kind: 'event';
      streamId: string;
      streamPosition: number;
      globalPosition: string;
      hash: string;
      prevHash: string;
      cloudEvent: boolean;
      /** What is wrong with the envelope outside the hashed content, or null. */
      malformed: string | null;
      /** The hash does not recompute from the content. */
      edited: boolean;
    };

export function checkLine(text: string): CheckedLine {
  const parsed = parseExportLine(text);
  if (parsed.kind !== 'event') return parsed;
  const { event, cloudEvent, malformed } = parsed;
  let recomputed: string | null;
  try {
    recomputed = eventHash(event);
  } catch {
    recomputed = null;
  }
  return {
    kind: 'event',
    streamId: event.streamId,
    streamPosition: event.streamPosition,
    globalPosition: String(event.globalPosition),
    hash: event.hash,
    prevHash: event.prevHash,
    cloudEvent,
    malformed,
    edited: recomputed !== event.hash,
  };
}

/** Checks every line of `text` (replay/text-lines.ts). */
export function checkLines(text: string): CheckedLine[] {
  const checked: CheckedLine[] = [];
  eachLineOf(text, (line) => checked.push(checkLine(line)));
  return checked;
}
