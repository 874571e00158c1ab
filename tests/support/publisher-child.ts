// A publisher in a process of its own, for the kill -9 test: prints each batch it got acked.
import { startPublisher } from '../../infra/kafka/publisher.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { createSqlEventStore } from '../../infra/store/sql-event-store.ts';

const [connectionString, schema, brokers, topic] = process.argv.slice(2);
const store = createSqlEventStore(
  createPostgresClient({ connectionString: connectionString!, schema: schema! }),
);

await startPublisher(store, {
  brokers: brokers!,
  topic: topic!,
  partitions: 4,
  batchSize: 20,
  pollIntervalMs: 10,
});

process.stdout.write('started\n');
