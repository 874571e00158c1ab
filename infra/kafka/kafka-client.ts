// The kafkajs client as AOS uses it: brokers from KAFKA_BROKERS, its logs routed to the
// application's pino logger (kafkajs would otherwise print JSON lines of its own on stdout),
// and the one message format the publisher writes and the consumers read.
import { Kafka, logLevel as KafkaLogLevel, type KafkaMessage, type LogEntry } from 'kafkajs';
import { isLedgerStream, ledgerDayId } from '../../domain/budget/ledger.ts';
import type { RecordedEvent } from '../../domain/store/envelope.ts';

/** The part of a pino logger (fastify's `server.log`) these modules write to. */
export interface KafkaLog {
  error(object: object, message: string): void;
  warn(object: object, message: string): void;
  info(object: object, message: string): void;
  debug(object: object, message: string): void;
}

export const silentLog: KafkaLog = { error() {}, warn() {}, info() {}, debug() {} };

export function createKafka(options: { brokers: string; clientId: string; log: KafkaLog }): Kafka {
  const { log } = options;
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers.split(','),
    connectionTimeout: 3000,
    // Retries with backoff inside kafkajs; past them the caller's loop retries (and counts).
    retry: { initialRetryTime: 200, maxRetryTime: 2000, retries: 5 },
    logLevel: KafkaLogLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        const fields = { kafka: namespace, ...rest };
        if (level === KafkaLogLevel.ERROR) log.error(fields, message);
        else if (level === KafkaLogLevel.WARN) log.warn(fields, message);
        else if (level === KafkaLogLevel.INFO) log.info(fields, message);
        else log.debug(fields, message);
      },
  });
}

/** Headers on every published event: enough to route, order and deduplicate without parsing. */
export const HEADERS = {
  eventId: 'aos-event-id',
  type: 'aos-event-type',
  schemaVersion: 'aos-schema-version',
  globalPosition: 'aos-global-position',
  streamPosition: 'aos-stream-position',
  tenant: 'aos-tenant',
  hash: 'aos-hash',
} as const;

/**
 * The message key: what must stay in store order lands on one partition. That is a stream,
 * except a tenant day's ledger: its run ledgers are streams of their own, but the budget day
 * they share is folded as one entity (status history), so they all go where the day goes.
 */
export function partitionKeyOf(streamId: string): string {
  return isLedgerStream(streamId) ? ledgerDayId(streamId) : streamId;
}

export function eventMessage(event: RecordedEvent) {
  return {
    key: partitionKeyOf(event.streamId),
    value: JSON.stringify(event),
    headers: {
      [HEADERS.eventId]: event.eventId,
      [HEADERS.type]: event.type,
      [HEADERS.schemaVersion]: String(event.schemaVersion),
      [HEADERS.globalPosition]: event.globalPosition,
      [HEADERS.streamPosition]: String(event.streamPosition),
      [HEADERS.tenant]: event.metadata.tenantId,
      [HEADERS.hash]: event.hash,
    },
  };
}

export class KafkaMessageError extends Error {
  override readonly name = 'KafkaMessageError';
}

/** The recorded event a message carries; a message that is not one says which offset it was. */
export function eventOf(message: KafkaMessage, where: string): RecordedEvent {
  if (!message.value) throw new KafkaMessageError(`${where}: message has no value`);
  const event = JSON.parse(message.value.toString('utf8')) as RecordedEvent;
  const header = message.headers?.[HEADERS.eventId]?.toString();
  if (
    typeof event.eventId !== 'string' ||
    typeof event.streamPosition !== 'number' ||
    header !== event.eventId
  ) {
    throw new KafkaMessageError(
      `${where}: not an AOS event message (event id header ${JSON.stringify(header)})`,
    );
  }
  return event;
}
