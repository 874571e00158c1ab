// The one parser of an export file's lines (replay/export-format.ts), shared by `aos verify`
// and replay's event source: a line is blank, the manifest, an event (JSON Lines or a
// CloudEvent) or broken. An event's envelope is checked here for what its hash does not cover
// (the fields the exporter writes, and no others); whether its hash and chain hold is the
// verifier's job (replay/verify.ts).
import type { RecordedEvent } from '../domain/store/envelope.ts';
import { fromCloudEvent, isCloudEvent } from './export-cloudevents.ts';
import type { ExportManifest } from './export-format.ts';

export type ExportLine =
  | { kind: 'blank' }
  | { kind: 'manifest'; manifest: ExportManifest }
  | {
      kind: 'event';
      event: RecordedEvent;
      cloudEvent: boolean;
      /** What is wrong with the envelope outside the hashed content, or null. */
      malformed: string | null;
    }
  | { kind: 'broken'; message: string };

const ENVELOPE_KEYS = new Set([
  'eventId',
  'streamId',
  'streamPosition',
  'globalPosition',
  'type',
  'schemaVersion',
  'data',
  'metadata',
  'recordedAt',
  'prevHash',
  'hash',
]);
const CLOUD_EVENT_REQUIRED = [
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'data',
  'aosstreamposition',
  'aosglobalposition',
  'aosschemaversion',
  'aosprevhash',
  'aoshash',
  'aostenantid',
];
const CLOUD_EVENT_KEYS = new Set([
  ...CLOUD_EVENT_REQUIRED,
  'aoscorrelationid',
  'aoscausationid',
  'aosactor',
  'aoscommandid',
  'aostraceid',
  'aosspanid',
]);

/** Fields the hash does not cover must still be exactly what the exporter writes. */
function envelopeProblem(value: object, cloudEvent: boolean): string | null {
  const allowed = cloudEvent ? CLOUD_EVENT_KEYS : ENVELOPE_KEYS;
  let known = 0;
  for (const key in value) {
    if (!allowed.has(key)) return `unexpected field ${JSON.stringify(key)}`;
    known++;
  }
  if (!cloudEvent) return known === ENVELOPE_KEYS.size ? null : 'a field of the envelope is missing';
  const ce = value as Record<string, unknown>;
  for (const key of CLOUD_EVENT_REQUIRED) if (!(key in ce)) return `CloudEvent attribute ${key} is missing`;
  if (ce.specversion !== '1.0') return 'specversion is not 1.0';
  if (ce.datacontenttype !== 'application/json') return 'datacontenttype is not application/json';
  if (ce.source !== `/aos/tenants/${encodeURIComponent(String(ce.aostenantid))}`)
    return 'source does not name the tenant';
  return null;
}

const isHex64 = (value: unknown): value is string =>
  typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);

export function parseExportLine(text: string): ExportLine {
  if (text.trim() === '') return { kind: 'blank' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { kind: 'broken', message: `not JSON: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'broken', message: 'not a JSON object' };
  }
  if ('manifest' in value)
    return { kind: 'manifest', manifest: (value as { manifest: ExportManifest }).manifest };
  const cloudEvent = isCloudEvent(value);
  const event = cloudEvent ? fromCloudEvent(value) : (value as RecordedEvent);
  const { streamId, streamPosition, hash, prevHash, globalPosition } = event;
  if (
    typeof streamId !== 'string' ||
    !Number.isSafeInteger(streamPosition) ||
    streamPosition < 0 ||
    !isHex64(hash) ||
    !isHex64(prevHash)
  ) {
    return {
      kind: 'broken',
      message: 'not an event: streamId, streamPosition, hash or prevHash is missing or malformed',
    };
  }
  const malformed =
    envelopeProblem(value, cloudEvent) ??
    (typeof globalPosition === 'string' && /^[0-9]+$/.test(globalPosition)
      ? null
      : 'globalPosition is not a decimal string');
  return { kind: 'event', event, cloudEvent, malformed };
}
