// A separate executor process for the worker-death test: claims runs, starts their calls,
// and hangs inside the skill until it is killed.
import { createExecutor } from '../../commands/executor.ts';
import type { SkillPort } from '../../commands/skill-port.ts';
import { createSqlBudgetLedger } from '../../infra/executor/sql-budget-ledger.ts';
import { createSqlRunQueue } from '../../infra/executor/sql-run-queue.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { createSqlEventStore } from '../../infra/store/sql-event-store.ts';

const [connectionString, schema] = process.argv.slice(2);
const client = createPostgresClient({ connectionString: connectionString!, schema: schema! });
const store = createSqlEventStore(client);
const hanging: SkillPort = {
  facts: () => ({}),
  invoke: async () => {
    process.stdout.write('calling\n');
    return new Promise(() => {});
  },
};
createExecutor(
  {
    store,
    queue: createSqlRunQueue(client),
    ledger: createSqlBudgetLedger(store),
    skills: hanging,
    clock: () => new Date(),
    dayLimitMicros: () => 1e12,
  },
  { owner: 'doomed-worker', leaseMs: 1500, pollIntervalMs: 20 },
).start();
