// `aos publish` (the outbox relay alone) and `aos consume` (one Kafka projection consumer of the
// group): each runs until SIGTERM/SIGINT, on the configured store (docs/kafka.md).
import type { Command } from 'commander';
import { pino } from 'pino';
import type { Config } from '../../infra/config.ts';
import { startKafkaReadModels } from '../../infra/kafka/kafka-read-models.ts';
import { startPublisher } from '../../infra/kafka/publisher.ts';
import { allMigrations } from '../../infra/migrations.ts';
import { migrate } from '../../infra/store/migrate.ts';
import { openSqlClient } from '../../infra/store/open-event-store.ts';
import { createSqlEventStore } from '../../infra/store/sql-event-store.ts';
import { allProjections } from '../../projections/all.ts';

async function runUntilSignal(
  config: Config,
  start: (brokers: string) => Promise<{ stop(): Promise<void> }>,
) {
  if (!config.KAFKA_BROKERS) throw new Error('KAFKA_BROKERS is not set (host:port[,host:port…])');
  const running = await start(config.KAFKA_BROKERS);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await running.stop();
}

export function kafkaCommands(program: Command, configOrExit: () => Config): void {
  program
    .command('publish')
    .description('publish the event stream to Kafka (KAFKA_BROKERS, AOS_KAFKA_TOPIC) until stopped')
    .action(async () => {
      const config = configOrExit();
      const log = pino({ level: config.AOS_LOG_LEVEL });
      const client = await openSqlClient(config);
      await migrate(client, allMigrations);
      const store = createSqlEventStore(client);
      await runUntilSignal(config, (brokers) =>
        startPublisher(store, {
          brokers,
          topic: config.AOS_KAFKA_TOPIC,
          partitions: config.AOS_KAFKA_PARTITIONS,
          batchSize: config.AOS_KAFKA_BATCH,
          leaseMs: config.AOS_KAFKA_LEASE_MS,
          ...(config.AOS_INSTANCE_ID ? { instance: config.AOS_INSTANCE_ID } : {}),
          log,
        }),
      );
      await store.close();
    });
  program
    .command('consume')
    .description('feed the read models from Kafka as one member of AOS_KAFKA_GROUP until stopped')
    .action(async () => {
      const config = configOrExit();
      const log = pino({ level: config.AOS_LOG_LEVEL });
      const client = await openSqlClient(config);
      await migrate(client, allMigrations);
      const store = createSqlEventStore(client);
      await runUntilSignal(config, (brokers) =>
        startKafkaReadModels(store, {
          brokers,
          topic: config.AOS_KAFKA_TOPIC,
          groupId: config.AOS_KAFKA_GROUP,
          projections: allProjections,
          log,
          onError: (error) => log.warn({ err: error }, 'projection rebuild failed; retrying'),
        }),
      );
      await store.close();
    });
}
