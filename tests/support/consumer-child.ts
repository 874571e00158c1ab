// A Kafka projection consumer in a process of its own, for the kill -9 test: one member of
// the group, writing the read models of the given schema.
import { startKafkaProjections } from '../../infra/kafka/projection-consumer.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { allProjections } from '../../projections/all.ts';

const [connectionString, schema, brokers, topic, groupId] = process.argv.slice(2);

await startKafkaProjections(
  createPostgresClient({ connectionString: connectionString!, schema: schema!, maxConnections: 8 }),
  {
    brokers: brokers!,
    topic: topic!,
    groupId: groupId!,
    projections: allProjections,
    sessionTimeoutMs: 6000,
  },
);

process.stdout.write('started\n');
