// Kafka for tests: the broker at KAFKA_BROKERS (CI starts one with infra/kafka/broker.sh).
// When AOS_TEST_REQUIRE names kafka (CI), an unreachable broker fails the run instead of
// skipping its tests. Also: a reader of a whole topic, and private brokers for tests that
// stop and restart theirs.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import { eventOf } from '../../infra/kafka/kafka-client.ts';
import { requiredServices } from './postgres.ts';

export const kafkaBrokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';

let reachable: Promise<boolean> | undefined;

export function kafkaReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const admin = quietKafka(kafkaBrokers).admin();
    try {
      await admin.connect();
      await admin.listTopics();
      return true;
    } catch (error) {
      if (requiredServices.includes('kafka')) {
        throw new Error(
          `AOS_TEST_REQUIRE includes kafka but the broker at ${kafkaBrokers} is unreachable: ${error}`,
        );
      }
      console.warn(
        `Kafka at ${kafkaBrokers} unreachable: its tests do not run (start it with infra/kafka/broker.sh start; set AOS_TEST_REQUIRE=kafka to fail)`,
      );
      return false;
    } finally {
      await admin.disconnect().catch(() => {});
    }
  })();
  return reachable;
}

export function quietKafka(brokers: string): Kafka {
  return new Kafka({
    clientId: 'aos-test',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 3 },
  });
}

export const uniqueTopic = () => `aos.test.${randomUUID().slice(0, 8)}`;

/**
 * Every message on `topic` (duplicates included, in partition order), read until `count`
 * distinct events arrived (and a moment more, for trailing duplicates) or the deadline.
 */
export async function readTopic(
  brokers: string,
  topic: string,
  count: number,
  timeoutMs = 30_000,
): Promise<(RecordedEvent & { partition: number })[]> {
  const consumer = quietKafka(brokers).consumer({ groupId: `reader-${randomUUID()}` });
  const seen: (RecordedEvent & { partition: number })[] = [];
  const distinct = new Set<string>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let done: () => void = () => {};
    const enough = new Promise<void>((resolve) => {
      done = resolve;
    });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const event = eventOf(message, `${topic}[${partition}]@${message.offset}`);
        seen.push({ ...event, partition });
        distinct.add(event.eventId);
        if (distinct.size >= count) setTimeout(done, 300);
      },
    });
    const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs));
    await Promise.race([enough, timer]);
    return seen;
  } finally {
    await consumer.disconnect();
  }
}

/**
 * Waits until `topic` exists with a leader for every partition: a publisher creates its topic
 * when it first connects, after startPublisher has returned, and a consumer subscribing to a
 * topic not there yet fails.
 */
export async function topicCreated(brokers: string, topic: string, timeoutMs = 30_000): Promise<void> {
  const admin = quietKafka(brokers).admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
      const partitions = metadata?.topics[0]?.partitions ?? [];
      if (partitions.length > 0 && partitions.every((p) => p.leader >= 0)) return;
      if (Date.now() > deadline) throw new Error(`topic ${topic} was not created within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await admin.disconnect();
  }
}

const brokerScript = fileURLToPath(new URL('../../infra/kafka/broker.sh', import.meta.url));
const run = promisify(execFile);

/** A broker of its own on `port` (log dir kept per port), for tests that stop and restart it. */
export function privateBroker(port: number) {
  const env = { ...process.env, AOS_KAFKA_PORT: String(port), AOS_KAFKA_CONTROLLER_PORT: String(port + 1) };
  return {
    brokers: `127.0.0.1:${port}`,
    start: () => run(brokerScript, ['start'], { env, timeout: 240_000 }),
    stop: () => run(brokerScript, ['stop'], { env, timeout: 60_000 }),
    reset: () => run(brokerScript, ['reset'], { env, timeout: 60_000 }),
  };
}
