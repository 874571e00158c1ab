// The broker goes away while commands flow: the API keeps accepting them and stays ready
// (its /readyz says what the publisher sees), and once the broker is back the publisher
// catches up with every event. A broker of its own, so the shared one stays up for the rest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLISHER_CHECKPOINT } from '../../infra/kafka/publisher.ts';
import { readCheckpoint } from '../../readmodels/checkpointed-consumer.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { countEvents } from '../support/count-events.ts';
import { until } from '../support/events.ts';
import { kafkaReachable, privateBroker, readTopic, uniqueTopic } from '../support/kafka.ts';
import { postgresReachable } from '../support/postgres.ts';

const available = (await postgresReachable()) && (await kafkaReachable());
const broker = privateBroker(Number(process.env.AOS_KAFKA_TEST_PORT ?? 19192));

describe.runIf(available)('Kafka broker stopped and restarted', () => {
  const topic = uniqueTopic();
  let app: TestApp;
  beforeAll(async () => {
    await broker.start();
    app = await startTestApp('postgres', {
      KAFKA_BROKERS: broker.brokers,
      AOS_KAFKA_TOPIC: topic,
      AOS_EXECUTOR: 'off',
      AOS_REQUEST_TIMEOUT_MS: '600000',
    });
  }, 240_000);
  afterAll(async () => {
    await app?.stop();
    await broker.stop();
  }, 60_000);

  it('keeps accepting commands while the broker is down and publishes everything after it returns', async () => {
    const key = await app.keyFor('acme', 'operator');
    const submit = async (n: number) => {
      const response = await app.request('POST', '/v1/runs', {
        key,
        body: {
          agentId: 'outage',
          plan: { steps: [{ skill: 'llm_invoke', input: { model: 'stub', prompt: `p${n}` } }] },
          budget: { maxCostMicros: 100_000 },
        },
      });
      expect(response.status).toBe(202);
    };
    for (let n = 0; n < 5; n++) await submit(n);
    const published = async () => {
      const checkpoint = (await readCheckpoint(app.store.client, PUBLISHER_CHECKPOINT)) ?? '0:0';
      const [head] = await app.store.client.query<{ p: string | null }>(
        'SELECT max(global_position)::text AS p FROM aos_events',
      );
      return checkpoint.split(':')[1] === head?.p;
    };
    await until('the first runs are published', published);

    await broker.stop();
    for (let n = 5; n < 15; n++) await submit(n);
    await until('the publisher reports the outage', async () => {
      const ready = await app.request('GET', '/readyz');
      expect(ready.status).toBe(200);
      return ready.body.kafkaPublisher?.state === 'broker-unavailable';
    });
    expect(await published()).toBe(false);

    await broker.start();
    for (let n = 15; n < 20; n++) await submit(n);
    await until('the publisher caught up', published, 90_000);
    const ready = await app.request('GET', '/readyz');
    expect(ready.body.kafkaPublisher).toMatchObject({ state: 'publishing', role: 'active' });

    const total = await countEvents(app.store);
    const messages = await readTopic(broker.brokers, topic, total, 20_000);
    expect(new Set(messages.map((m) => m.eventId)).size).toBe(total);
    const metrics = await app.request('GET', '/metrics');
    expect(metrics.body).toMatch(/aos_kafka_broker_errors_total\{client="publisher"\} [1-9]/);
    expect(metrics.body).toContain(
      `aos_kafka_publisher_active{instance="${ready.body.kafkaPublisher.instance}"} 1`,
    );
    expect(metrics.body).toMatch(/aos_kafka_publish_lag_events 0/);
  }, 240_000);
});
