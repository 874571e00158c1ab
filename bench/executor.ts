// The executor driving 3-step plans of the stub skills (llm_invoke on model `stub`,
// json_transform) to `succeeded`, on PostgreSQL and PGlite, beside the event store's own
// append rate of single events with as many concurrent writers as the executor works on
// runs at once, measured in the same run on the same database. What the executor adds per
// event: loading and folding the run, deciding, policy, the tenant's budget ledger (a
// second stream every attempt reserves and settles on), the run queue and its lease, the
// skill call. Target (issue 3, item 13): executor events/s >= 0.6 x the raw append rate.
import { createExecutor } from '../commands/executor.ts';
import { ensurePriceTable } from '../commands/reference-data.ts';
import type { RunQueue } from '../commands/run-queue.ts';
import { loadConfig } from '../infra/config.ts';
import { createSqlBudgetLedger } from '../infra/executor/sql-budget-ledger.ts';
import { createSqlRunQueue, enqueueRuns } from '../infra/executor/sql-run-queue.ts';
import { createDefaultSkillPort } from '../infra/skills/index.ts';
import { createSqlEventStore, type SqlEventStore } from '../infra/store/sql-event-store.ts';
import { measureFanOut } from './executor-fan-out.ts';
import { measureBesideDbos, PEER_SIZES } from './executor-peer.ts';
import { benchEvents } from './store.ts';
import type { Suite, SuiteContext } from './suites.ts';
import { type BenchDatabase, onEveryStore, openBenchDatabase, type StoreKind } from './support/databases.ts';
import { concurrently, paired } from './support/measure.ts';
import { type Figure, figure } from './support/report.ts';
import { submitRuns } from './support/runs.ts';

const SIZES = {
  quick: { repetitions: 3, runs: 60, fanOutRuns: 8 },
  full: { repetitions: 5, runs: 300, fanOutRuns: 40 },
};
/** Runs are spread over this many tenants (each has its own budget-day stream). */
const TENANTS = 4;
/** The anchor's streams are as long as a 3-step run's. */
const EVENTS_PER_STREAM = 22;

/** The server's defaults: the executor's concurrency and lease, as `npm start` runs it. */
const config = loadConfig({});

async function eventsAfter(db: BenchDatabase, position: number): Promise<number> {
  const [row] = await db.client.query<{ n: string }>(
    'SELECT count(*)::text AS n FROM aos_events WHERE global_position > $1',
    [position],
  );
  return Number(row!.n);
}

async function headPosition(db: BenchDatabase): Promise<number> {
  const [row] = await db.client.query<{ p: string | null }>(
    'SELECT max(global_position)::text AS p FROM aos_events',
  );
  return Number(row!.p ?? 0);
}

/** Resolves once `expected` runs have been released as done. */
function countingQueue(queue: RunQueue, expected: number) {
  let done = 0;
  let resolve!: () => void;
  const finished = new Promise<void>((r) => {
    resolve = r;
  });
  const counted: RunQueue = {
    ...queue,
    async release(runId, owner, next) {
      await queue.release(runId, owner, next);
      if ('done' in next && ++done === expected) resolve();
    },
  };
  return { queue: counted, finished };
}

async function measureStore(kind: StoreKind, size: (typeof SIZES)['full'], context: SuiteContext) {
  const db = await openBenchDatabase(kind, 'executor');
  const log = (line: string) => context.log(`  [${kind}] ${line}`);
  try {
    const clock = () => new Date();
    const store: SqlEventStore = createSqlEventStore(db.client, { clock });
    await ensurePriceTable(store, clock());
    const skills = createDefaultSkillPort({ now: clock });
    const deps = { store, skills, clock };
    const concurrency = config.AOS_EXECUTOR_CONCURRENCY;
    const tenantOf = (i: number) => `bench-${i % TENANTS}`;
    let submitted = 0;
    let before = 0;
    const eventsPerRun: number[] = [];

    log(
      `${size.runs} runs of 3 steps per repetition, ${TENANTS} tenants, executor concurrency ${concurrency}`,
    );
    const perClient = Math.floor((size.runs * EVENTS_PER_STREAM) / concurrency);
    let anchorEvents = benchEvents(0);

    const result = await paired(
      [
        {
          label: 'executor',
          // Untimed: the runs are submitted (2 events each) and queued, as the feeder would.
          async prepare() {
            const ids = await submitRuns(deps, size.runs, tenantOf, submitted);
            submitted += size.runs;
            const now = clock().toISOString();
            await enqueueRuns(
              db.client,
              ids.map((runId, i) => ({ runId, tenantId: tenantOf(submitted - size.runs + i), dueAt: now })),
            );
            before = await headPosition(db);
          },
          async run() {
            const counting = countingQueue(createSqlRunQueue(db.client), size.runs);
            const executor = createExecutor(
              {
                store,
                queue: counting.queue,
                ledger: createSqlBudgetLedger(store),
                skills,
                clock,
                dayLimitMicros: () => Number.MAX_SAFE_INTEGER,
              },
              { concurrency, leaseMs: config.AOS_EXECUTOR_LEASE_MS, pollIntervalMs: 5 },
            );
            executor.start();
            await counting.finished;
            await executor.stop();
            const written = await eventsAfter(db, before);
            eventsPerRun.push(written / size.runs);
            return written;
          },
        },
        {
          label: 'raw',
          // Fresh event ids every repetition: these tables are never emptied.
          prepare: async () => {
            anchorEvents = benchEvents(perClient * concurrency);
          },
          run: (run) =>
            concurrently(concurrency, async (c) => {
              for (let i = 0; i < perClient; i++) {
                const streamId = `raw-${run}-c${c}-${Math.floor(i / EVENTS_PER_STREAM)}`;
                await store.append(streamId, [anchorEvents[c * perClient + i]!], {
                  expectedVersion: (i % EVENTS_PER_STREAM) - 1,
                });
              }
              return perClient;
            }),
        },
      ],
      { repetitions: size.repetitions, warmups: 1, log: context.log },
    );
    const statuses = await db.client.query<{ status: string; n: string }>(
      `SELECT (data->>'status') AS status, count(*)::text AS n FROM aos_events
        WHERE type = 'RunCompleted' GROUP BY 1`,
    );
    log(`runs completed: ${statuses.map((s) => `${s.status} ${s.n}`).join(', ')}`);
    if (statuses.some((s) => s.status !== 'succeeded')) throw new Error('a bench run did not succeed');
    const perRun = eventsPerRun.at(-1)!;
    log(`${perRun} events per executed run (submission's 2 not counted)`);
    const figures: Figure[] = [
      figure({
        store: kind,
        name: 'executor, 3-step stub runs',
        unit: 'events/s',
        value: result.median.executor!,
        anchor: `store.append 1 event, ${concurrency} clients`,
        anchor_value: result.median.raw!,
        ratios: result.ratioTo('raw'),
        target: 0.6,
      }),
      // The same measurement in runs: every run writes the same events.
      figure({
        store: kind,
        name: 'executor, 3-step stub runs',
        unit: 'runs/s',
        value: result.median.executor! / perRun,
        anchor: `the same appends ÷ ${perRun} events a run`,
        anchor_value: result.median.raw! / perRun,
        ratios: result.ratioTo('raw'),
        target: 0.6,
      }),
    ];
    await skills.close();
    return figures;
  } finally {
    await db.close();
  }
}

export const suite: Suite = {
  description:
    'executor: 3-step stub plans run to succeeded (runs/s, events/s) vs single-event store appends; a fan-out of five parallel stub steps vs the same five in sequence; PostgreSQL and PGlite; beside DBOS Transact on PostgreSQL',
  async run(context) {
    const size = SIZES[context.quick ? 'quick' : 'full'];
    const figures = await onEveryStore(async (kind) => [
      ...(await measureStore(kind, size, context)),
      ...(await measureFanOut(kind, size, context)),
    ]);
    return [...figures, ...(await measureBesideDbos(PEER_SIZES[context.quick ? 'quick' : 'full'], context))];
  },
};
