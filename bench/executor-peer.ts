// The executor beside DBOS Transact on the same PostgreSQL (issue 14): a burst of 3-step runs
// submitted at once and executed (throughput), one run at a time on an idle executor (latency
// p50/p99), what each run costs the database (commits, rows inserted and updated, from
// pg_stat_database), what an idle server commits per second, and one tenant's 64 concurrent
// runs against 64 tenants' one each. Measured on PostgreSQL only: DBOS runs on PostgreSQL.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openApp } from '../api/app.ts';
import { createExecutor } from '../commands/executor.ts';
import { ensurePriceTable } from '../commands/reference-data.ts';
import { submitRun } from '../commands/run-commands.ts';
import type { RunQueue } from '../commands/run-queue.ts';
import { loadConfig } from '../infra/config.ts';
import { createSqlBudgetLedger } from '../infra/executor/sql-budget-ledger.ts';
import { createSqlRunQueue } from '../infra/executor/sql-run-queue.ts';
import { createDefaultSkillPort } from '../infra/skills/index.ts';
import { createSqlEventStore } from '../infra/store/sql-event-store.ts';
import type { SuiteContext } from './suites.ts';
import { openBenchDatabase } from './support/databases.ts';
import { type DbCounters, idleCommitsPerSecond, perUnit } from './support/db-stats.ts';
import { launchDbos } from './support/dbos.ts';
import { benchDatabaseUrl, dropDatabase, peerDatabaseUrl, recreateDatabase } from './support/postgres.ts';
import { ceilingFigure, type Figure, figure, median } from './support/report.ts';
import { benchPrincipal, threeStepPlan } from './support/runs.ts';

export const PEER_SIZES = {
  quick: { repetitions: 3, burst: 100, latencyRuns: 20, spreadRuns: 64, idleSeconds: 10 },
  full: { repetitions: 5, burst: 500, latencyRuns: 50, spreadRuns: 192, idleSeconds: 30 },
};
type Size = (typeof PEER_SIZES)['full'];

/** The executor's concurrency in the burst: DBOS runs every started workflow at once. */
const BURST_CONCURRENCY = 64;
const SPREAD_CONCURRENCY = 64;
const POOL = 10;
/** How long an idle server is left alone before its commits are counted. */
const IDLE_SETTLE_MS = 20_000;
const config = loadConfig({});

/** A queue that tells when each run is released as done. */
function doneWatching(queue: RunQueue) {
  const waiting = new Map<string, () => void>();
  const finished = new Set<string>();
  const watched: RunQueue = {
    ...queue,
    async release(runId, owner, next) {
      await queue.release(runId, owner, next);
      if (!('done' in next)) return;
      finished.add(runId);
      waiting.get(runId)?.();
    },
  };
  const done = (runId: string) =>
    finished.has(runId) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(runId, resolve));
  return { queue: watched, done };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function measureBesideDbos(size: Size, context: SuiteContext): Promise<Figure[]> {
  const log = (line: string) => context.log(`  [postgres, DBOS] ${line}`);
  const db = await openBenchDatabase('postgres', 'executor_peer', { maxConnections: POOL });
  const dbos = await launchDbos(POOL);
  const clock = () => new Date();
  const store = createSqlEventStore(db.client, { clock });
  await ensurePriceTable(store, clock());
  const skills = createDefaultSkillPort({ now: clock });
  const ledger = createSqlBudgetLedger(store);
  let seq = 0;

  /** An executor of `concurrency`, started; runs submitted through it are awaited with `done`. */
  function startExecutor(concurrency: number) {
    const watching = doneWatching(createSqlRunQueue(db.client, store));
    const executor = createExecutor(
      { store, queue: watching.queue, ledger, skills, clock, dayLimitMicros: () => Number.MAX_SAFE_INTEGER },
      { concurrency, leaseMs: config.AOS_EXECUTOR_LEASE_MS },
    );
    executor.start();
    // Submitting through the command the HTTP route calls, with the queue it feeds.
    const commands = { store, skills, clock, runs: watching.queue };
    const submitOne = async (tenantId: string) => {
      const { runId } = await submitRun(commands, benchPrincipal(tenantId), threeStepPlan(seq++));
      await watching.done(runId);
    };
    return { submitOne, stop: () => executor.stop() };
  }

  /** Runs/s of `runs` submitted at once and executed, tenant `tenantOf(i)`. */
  async function aosBurst(runs: number, concurrency: number, tenantOf: (i: number) => string) {
    const executor = startExecutor(concurrency);
    const started = performance.now();
    await Promise.all(Array.from({ length: runs }, (_, i) => executor.submitOne(tenantOf(i))));
    const seconds = (performance.now() - started) / 1000;
    await executor.stop();
    return runs / seconds;
  }

  async function dbosBurst(runs: number) {
    const started = performance.now();
    await Promise.all(Array.from({ length: runs }, () => dbos.runOne(seq++)));
    return runs / ((performance.now() - started) / 1000);
  }

  try {
    // Warm-up of both (JIT, pools, the price table's first read).
    await aosBurst(20, BURST_CONCURRENCY, (i) => `bench-${i % 4}`);
    await dbosBurst(20);

    const rates = { aos: [] as number[], dbos: [] as number[] };
    const cost = { aos: [] as DbCounters[], dbos: [] as DbCounters[] };
    for (let r = 0; r < size.repetitions; r++) {
      const order = r % 2 === 0 ? (['aos', 'dbos'] as const) : (['dbos', 'aos'] as const);
      for (const who of order) {
        let rate = 0;
        const counters =
          who === 'aos'
            ? await perUnit(benchDatabaseUrl, size.burst, async () => {
                rate = await aosBurst(size.burst, BURST_CONCURRENCY, (i) => `bench-${i % 4}`);
              })
            : await perUnit(dbos.url, size.burst, async () => {
                rate = await dbosBurst(size.burst);
              });
        rates[who].push(rate);
        cost[who].push(counters);
      }
      log(
        `rep ${r + 1}/${size.repetitions}: ${size.burst} at once: AOS ${rates.aos.at(-1)!.toFixed(1)} runs/s ` +
          `(${cost.aos.at(-1)!.commits.toFixed(1)} commits/run), DBOS ${rates.dbos.at(-1)!.toFixed(1)} ` +
          `(${cost.dbos.at(-1)!.commits.toFixed(1)} commits/run)`,
      );
    }

    // Latency: one run at a time on an idle executor (woken by the submission itself).
    const latency = { aos: [] as number[], dbos: [] as number[] };
    const idle = startExecutor(config.AOS_EXECUTOR_CONCURRENCY);
    for (let i = 0; i < size.latencyRuns; i++) {
      let started = performance.now();
      await idle.submitOne('bench-latency');
      latency.aos.push(performance.now() - started);
      started = performance.now();
      await dbos.runOne(seq++);
      latency.dbos.push(performance.now() - started);
    }
    await idle.stop();
    const p = (who: 'aos' | 'dbos', q: number) => percentile(latency[who], q);
    log(
      `idle latency over ${size.latencyRuns}: AOS p50 ${p('aos', 50).toFixed(1)} p99 ${p('aos', 99).toFixed(1)} ms, ` +
        `DBOS p50 ${p('dbos', 50).toFixed(1)} p99 ${p('dbos', 99).toFixed(1)} ms`,
    );

    // One tenant's 64 concurrent runs against 64 tenants' one each (the budget day's contention).
    const spread = { one: [] as number[], many: [] as number[] };
    for (let r = 0; r < size.repetitions; r++) {
      const order = r % 2 === 0 ? (['one', 'many'] as const) : (['many', 'one'] as const);
      for (const how of order) {
        const tenantOf = how === 'one' ? () => `solo-${r}` : (i: number) => `spread-${r}-${i % 64}`;
        spread[how].push(await aosBurst(size.spreadRuns, SPREAD_CONCURRENCY, tenantOf));
      }
      log(
        `rep ${r + 1}/${size.repetitions}: one tenant ${spread.one.at(-1)!.toFixed(1)} runs/s, ` +
          `64 tenants ${spread.many.at(-1)!.toFixed(1)} runs/s`,
      );
    }

    // An idle server (the whole app, alone in a database of its own) and an idle DBOS.
    const appIdle = await idleServerCommits(size.idleSeconds);
    const dbosIdle = await idleCommitsPerSecond(dbos.url, size.idleSeconds);
    log(`idle commits/s: AOS server ${appIdle.toFixed(1)}, DBOS ${dbosIdle.toFixed(1)}`);

    const ratios = (a: number[], b: number[]) => a.map((v, i) => v / b[i]!);
    const med = (who: 'aos' | 'dbos', key: keyof DbCounters) => median(cost[who].map((c) => c[key]));
    const costFigure = (key: keyof DbCounters, label: string, target: number) =>
      ceilingFigure({
        store: 'postgres',
        name: `${label} per 3-step run (${size.burst} at once, with its submission)`,
        unit: label,
        value: med('aos', key),
        anchor: 'DBOS Transact 5.3, same 3-step workflow',
        anchor_value: med('dbos', key),
        ratios: cost.dbos.map((c, i) => c[key] / cost.aos[i]![key]),
        target,
      });
    return [
      figure({
        store: 'postgres',
        name: `3-step runs, ${size.burst} submitted at once (executor concurrency ${BURST_CONCURRENCY})`,
        unit: 'runs/s',
        value: median(rates.aos),
        anchor: `DBOS Transact 5.3, ${size.burst} workflows started at once`,
        anchor_value: median(rates.dbos),
        ratios: ratios(rates.aos, rates.dbos),
        target: 1.0,
      }),
      ceilingFigure({
        store: 'postgres',
        name: `idle latency p50, one 3-step run (submit → done), ${size.latencyRuns} runs`,
        unit: 'ms',
        value: p('aos', 50),
        anchor: 'DBOS Transact 5.3, one workflow (start → result)',
        anchor_value: p('dbos', 50),
        ratios: [p('dbos', 50) / p('aos', 50)],
        target: 1.5 * p('dbos', 50),
      }),
      ceilingFigure({
        store: 'postgres',
        name: `idle latency p99, one 3-step run, ${size.latencyRuns} runs`,
        unit: 'ms',
        value: p('aos', 99),
        anchor: 'DBOS Transact 5.3 (p99)',
        anchor_value: p('dbos', 99),
        ratios: [p('dbos', 99) / p('aos', 99)],
        target: Number.POSITIVE_INFINITY,
      }),
      costFigure('commits', 'commits', 25),
      costFigure('inserted', 'rows inserted', Number.POSITIVE_INFINITY),
      costFigure('updated', 'rows updated', Number.POSITIVE_INFINITY),
      figure({
        store: 'postgres',
        name: `one tenant, ${SPREAD_CONCURRENCY} concurrent runs (${size.spreadRuns} runs)`,
        unit: 'runs/s',
        value: median(spread.one),
        anchor: `${SPREAD_CONCURRENCY} tenants, one run each at a time`,
        anchor_value: median(spread.many),
        ratios: ratios(spread.one, spread.many),
        target: 0.8,
      }),
      ceilingFigure({
        store: 'postgres',
        name: `idle server commits/s (the whole app alone in a fresh database, ${size.idleSeconds} s)`,
        unit: 'commits/s',
        value: appIdle,
        anchor: 'DBOS Transact 5.3, idle',
        anchor_value: dbosIdle,
        ratios: appIdle > 0 ? [dbosIdle / appIdle] : null,
        target: dbosIdle,
      }),
    ];
  } finally {
    await dbos.shutdown();
    await skills.close();
    await db.close();
  }
}

/**
 * Commits/s of the whole app (what `npm start` runs) while nothing is asked of it, in a database
 * of its own created for it, so that nothing else (the burst phases' leftovers, autovacuum of
 * their tables) counts.
 */
async function idleServerCommits(seconds: number): Promise<number> {
  const url = await recreateDatabase(peerDatabaseUrl('idle'));
  const dataDir = await mkdtemp(join(tmpdir(), 'aos-bench-idle-'));
  const app = await openApp(
    loadConfig({
      AOS_STORE: 'postgres',
      DATABASE_URL: url,
      AOS_DATA_DIR: dataDir,
      AOS_BOOTSTRAP_KEY: `aos_bench_system_key_${'x'.repeat(40)}`,
      AOS_LOG_LEVEL: 'silent',
    }),
  );
  try {
    // Past start-up: PostgreSQL 15+ publishes an idle backend's counters up to 10 s late, so the
    // migrations' and first reads' commits would land in the window.
    await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
    return await idleCommitsPerSecond(url, seconds);
  } finally {
    await app.close();
    await dropDatabase(url);
    await rm(dataDir, { recursive: true, force: true });
  }
}
