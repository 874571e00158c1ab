// The CloudEvents 1.0 form of an export (`format=cloudevents`): one structured-mode JSON
// CloudEvent per line, the same signed manifest last. Every envelope field the hash covers is
// carried losslessly, so `aos verify` checks a CloudEvents export exactly like a JSONL one:
//
//   id          eventId                    source       /aos/tenants/<tenantId>
//   type        type (unchanged)           subject      streamId
//   time        recordedAt (the exact string the hash covers)
//   datacontenttype  application/json      data         data
//   extensions (lower-case alphanumerics, as the spec requires):
//     aosstreamposition, aosglobalposition (string: a bigint), aosschemaversion,
//     aosprevhash, aoshash, and the metadata fields flattened as aostenantid,
//     aoscorrelationid, aoscausationid, aosactor, aoscommandid, aostraceid, aosspanid
//     (extension values must be scalars, so metadata is not nested).
import type { EventMetadata, RecordedEvent } from '../domain/store/envelope.ts';

export interface AosCloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: unknown;
  aosstreamposition: number;
  aosglobalposition: string;
  aosschemaversion: number;
  aosprevhash: string;
  aoshash: string;
  aostenantid: string;
  aoscorrelationid?: string;
  aoscausationid?: string;
  aosactor?: string;
  aoscommandid?: string;
  aostraceid?: string;
  aosspanid?: string;
}

const METADATA_EXTENSIONS = [
  ['correlationId', 'aoscorrelationid'],
  ['causationId', 'aoscausationid'],
  ['actor', 'aosactor'],
  ['commandId', 'aoscommandid'],
  ['traceId', 'aostraceid'],
  ['spanId', 'aosspanid'],
] as const;

export function toCloudEvent(event: RecordedEvent): AosCloudEvent {
  const cloudEvent: AosCloudEvent = {
    specversion: '1.0',
    id: event.eventId,
    source: `/aos/tenants/${encodeURIComponent(event.metadata.tenantId)}`,
    type: event.type,
    subject: event.streamId,
    time: event.recordedAt,
    datacontenttype: 'application/json',
    data: event.data,
    aosstreamposition: event.streamPosition,
    aosglobalposition: event.globalPosition,
    aosschemaversion: event.schemaVersion,
    aosprevhash: event.prevHash,
    aoshash: event.hash,
    aostenantid: event.metadata.tenantId,
  };
  for (const [field, extension] of METADATA_EXTENSIONS) {
    const value = event.metadata[field];
    if (value !== undefined) cloudEvent[extension] = value;
  }
  return cloudEvent;
}

/** The recorded event a CloudEvent line carries (the inverse of toCloudEvent). */
export function fromCloudEvent(cloudEvent: Partial<AosCloudEvent>): RecordedEvent {
  const metadata: Record<string, unknown> = { tenantId: cloudEvent.aostenantid };
  for (const [field, extension] of METADATA_EXTENSIONS) {
    const value = cloudEvent[extension];
    if (value !== undefined) metadata[field] = value;
  }
  return {
    eventId: cloudEvent.id as string,
    streamId: cloudEvent.subject as string,
    streamPosition: cloudEvent.aosstreamposition as number,
    globalPosition: cloudEvent.aosglobalposition as string,
    type: cloudEvent.type as string,
    schemaVersion: cloudEvent.aosschemaversion as number,
    data: cloudEvent.data,
    metadata: metadata as EventMetadata,
    recordedAt: cloudEvent.time as string,
    prevHash: cloudEvent.aosprevhash as string,
    hash: cloudEvent.aoshash as string,
  };
}

export function isCloudEvent(value: object): value is Partial<AosCloudEvent> {
  return 'specversion' in value;
}
