// A publisher in a process of its own, for the kill -9 tests: prints "started", then a line
// each time it takes the publisher lease ("active <instance>").
import { startPublisher } from '../../infra/kafka/publisher.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { createSqlEventStore } from '../../infra/store/sql-event-store.ts';

const [connectionString, schema, brokers, topic, instance, leaseMs] = process.argv.slice(2);
const store = createSqlEventStore(
  createPostgresClient({ connectionString: connectionString!, schema: schema! }),
);

await startPublisher(store, {
  brokers: brokers!,
  topic: topic!,
  partitions: 4,
  batchSize: 20,
  pollIntervalMs: 10,
  ...(instance ? { instance } : {}),
  ...(leaseMs ? { leaseMs: Number(leaseMs) } : {}),
  log: {
    error() {},
    warn() {},
    debug() {},
    info: (_fields, message) => {
      if (message.startsWith('Kafka publisher lease taken')) process.stdout.write(`active ${instance}\n`);
    },
  },
});

process.stdout.write('started\n');
