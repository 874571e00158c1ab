// The executor on a fan-out: five stub steps (llm_invoke on model `stub`, 40 ms each) that
// depend on nothing, run as parallel branches (maxParallel 5), against the same five steps
// one after the other. One run at a time (executor concurrency 1), so the figure is what
// parallel branches save a single run: ideally 5×, less the per-attempt bookkeeping that
// stays serial (every command is decided under the run's lock).
import { createExecutor } from '../commands/executor.ts';
import { ensurePriceTable } from '../commands/reference-data.ts';
import type { RunQueue } from '../commands/run-queue.ts';
import type { SubmitRunRequest } from '../domain/run/submit-request.ts';
import { createSqlBudgetLedger } from '../infra/executor/sql-budget-ledger.ts';
import { createSqlRunQueue, enqueueRuns } from '../infra/executor/sql-run-queue.ts';
import { createDefaultSkillPort } from '../infra/skills/index.ts';
import { createSqlEventStore } from '../infra/store/sql-event-store.ts';
import type { SuiteContext } from './suites.ts';
import { openBenchDatabase, type StoreKind } from './support/databases.ts';
import { paired } from './support/measure.ts';
import { type Figure, figure } from './support/report.ts';
import { submitRuns } from './support/runs.ts';

const STEP_DELAY_MS = 40;
const BRANCHES = 5;

function fanOutPlan(parallel: boolean) {
  return (n: number): SubmitRunRequest => ({
    agentId: 'bench-fan-out',
    plan: {
      ...(parallel ? { maxParallel: BRANCHES } : {}),
      steps: Array.from({ length: BRANCHES }, (_, i) => ({
        id: `s${i + 1}`,
        ...(parallel ? { dependsOn: [] } : {}),
        skill: 'llm_invoke',
        input: {
          model: 'stub',
          prompt: `part ${i} of ${n}`,
          maxTokens: 16,
          stub: { delayMs: STEP_DELAY_MS },
        },
      })),
    },
    budget: { maxCostMicros: 2_000_000 },
    seed: n,
  });
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

export async function measureFanOut(
  kind: StoreKind,
  size: { repetitions: number; fanOutRuns: number },
  context: SuiteContext,
): Promise<Figure[]> {
  const db = await openBenchDatabase(kind, 'executor_fan_out');
  try {
    const clock = () => new Date();
    const store = createSqlEventStore(db.client, { clock });
    await ensurePriceTable(store, clock());
    const skills = createDefaultSkillPort({ now: clock });
    const deps = { store, skills, clock };
    let submitted = 0;
    const contender = (label: string, parallel: boolean) => {
      let ids: string[] = [];
      return {
        label,
        async prepare() {
          ids = await submitRuns(
            deps,
            size.fanOutRuns,
            () => 'bench-fan-out',
            submitted,
            fanOutPlan(parallel),
          );
          submitted += size.fanOutRuns;
        },
        async run() {
          const counting = countingQueue(createSqlRunQueue(db.client), ids.length);
          const now = clock().toISOString();
          const executor = createExecutor(
            {
              store,
              queue: counting.queue,
              skills,
              clock,
              dayLimitMicros: () => Number.MAX_SAFE_INTEGER,
              ledger: createSqlBudgetLedger(store),
            },
            { concurrency: 1, pollIntervalMs: 5 },
          );
          await enqueueRuns(
            db.client,
            ids.map((runId) => ({ runId, tenantId: 'bench-fan-out', dueAt: now })),
          );
          executor.start();
          await counting.finished;
          await executor.stop();
          return ids.length;
        },
      };
    };
    context.log(
      `  [${kind}] ${size.fanOutRuns} runs of ${BRANCHES} × ${STEP_DELAY_MS} ms stub steps, one run at a time`,
    );
    const result = await paired([contender('parallel', true), contender('sequential', false)], {
      repetitions: size.repetitions,
      warmups: 1,
      log: context.log,
    });
    const statuses = await db.client.query<{ status: string; n: string }>(
      `SELECT (data->>'status') AS status, count(*)::text AS n FROM aos_events WHERE type = 'RunCompleted' GROUP BY 1`,
    );
    if (statuses.some((s) => s.status !== 'succeeded'))
      throw new Error('a fan-out bench run did not succeed');
    await skills.close();
    return [
      figure({
        store: kind,
        name: `executor, fan-out of ${BRANCHES} parallel stub steps`,
        unit: 'runs/s',
        value: result.median.parallel!,
        anchor: `the same ${BRANCHES} steps in sequence`,
        anchor_value: result.median.sequential!,
        ratios: result.ratioTo('sequential'),
        target: 2,
      }),
    ];
  } finally {
    await db.close();
  }
}
