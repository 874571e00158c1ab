// Scenario: a write transaction held open 60 s in ANOTHER database of the same cluster
// (`BEGIN; INSERT …; SELECT pg_sleep(60); COMMIT`). It used to hold back every reader of the
// event store (snapshot xmin is cluster-wide): runs submitted meanwhile started after 61-67 s.
// Now runs keep finishing and read models keep up; the cluster-wide horizon's age is still
// reported (aos_xmin_horizon_age_seconds: vacuum waits). Then a write transaction in AOS's
// own database, which readers must wait for: /readyz says degraded and names it, the log
// warns with its pid, and everything catches up once it commits.
// The database is a private cluster of this test's own, so the machine's cluster is untouched.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { audit, nothingWrong } from './support/audit.ts';
import { stubModelRun, submitUnderLoad } from './support/load.ts';
import { type PrivateCluster, privateCluster } from './support/private-cluster.ts';
import { recordScenario } from './support/report.ts';
import { openScenario, projectionsCaughtUp, type Scenario } from './support/scenario.ts';

const HOLD_SECONDS = 60;
const RUNS = 15;

let cluster: PrivateCluster;
let scenario: Scenario;
beforeAll(async () => {
  cluster = await privateCluster();
  cluster.start();
  scenario = await openScenario({ AOS_READ_HORIZON_WARN_SECONDS: '2' }, cluster.url);
});
afterAll(async () => {
  await scenario?.dispose().catch(() => {});
  cluster?.destroy();
});

const plan = (i: number) => stubModelRun('long-transaction', `t${i}`);

async function gauge(name: string): Promise<number> {
  const text = await (await fetch(`${scenario.server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

/** Polls each run until it is final; returns seconds from submission to final status. */
async function finishTimes(key: string, runIds: string[], submittedAt: number, timeoutMs: number) {
  const times = new Map<string, number>();
  const deadline = Date.now() + timeoutMs;
  while (times.size < runIds.length && Date.now() < deadline) {
    for (const runId of runIds) {
      if (times.has(runId)) continue;
      const run = await scenario.call('GET', `/v1/runs/${runId}`, key);
      if (['succeeded', 'failed'].includes(run.body?.status))
        times.set(runId, (Date.now() - submittedAt) / 1000);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return [...times.values()];
}

/** A write transaction: BEGIN, an INSERT, then held open for `seconds` before COMMIT. */
async function holdWriteTransaction(url: string, seconds: number) {
  const client = new pg.Client({ connectionString: url, application_name: 'long-batch-job' });
  await client.connect();
  await client.query('CREATE TABLE IF NOT EXISTS batch (n int)');
  await client.query('BEGIN');
  await client.query('INSERT INTO batch VALUES (1)');
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const done = client
    .query(`SELECT pg_sleep(${seconds})`)
    .then(() => client.query('COMMIT'))
    .finally(() => client.end());
  return { pid, done };
}

it('keeps runs finishing and read models current while another database holds a transaction 60 s', async () => {
  const key = await scenario.tenantKey('patient', 'operator');
  // Polling with its own key, so it does not use the submitter's rate limit.
  const watcher = await scenario.tenantKey('patient', 'viewer');
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  await admin.query('CREATE DATABASE batch_jobs');
  await admin.end();
  const otherDb = new URL(cluster.url);
  otherDb.pathname = '/batch_jobs';

  // Phase 1: another database's transaction.
  const elsewhere = await holdWriteTransaction(otherDb.toString(), HOLD_SECONDS);
  const heldFrom = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const submittedAt = Date.now();
  const load = await submitUnderLoad({
    url: () => scenario.server.url,
    key,
    count: RUNS,
    concurrency: 3,
    body: plan,
    deadlineMs: 30_000,
  });
  const runIds = [...load.acknowledged.values()];
  const times = await finishTimes(watcher, runIds, submittedAt, 30_000);
  await projectionsCaughtUp(scenario, 20_000);
  const caughtUpWhileHeld = Date.now() - heldFrom < HOLD_SECONDS * 1000;
  // At least 4 s into the hold (the runs may all be done sooner), so that its age shows.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, heldFrom + 4000 - Date.now())));
  const xminAge = await gauge('aos_xmin_horizon_age_seconds');
  const readAgeElsewhere = await gauge('aos_read_horizon_age_seconds');
  const readyElsewhere = await (await fetch(`${scenario.server.url}/readyz`)).json();
  await elsewhere.done;

  // Phase 2: a transaction in AOS's own database, which the readers must wait for.
  const here = await holdWriteTransaction(cluster.url, 8);
  let degraded: any;
  const degradedDeadline = Date.now() + 7000;
  while (Date.now() < degradedDeadline) {
    const ready = await fetch(`${scenario.server.url}/readyz`);
    const body = (await ready.json()) as { status?: string };
    if (body.status === 'degraded') {
      degraded = { status: ready.status, body };
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const readAgeHere = await gauge('aos_read_horizon_age_seconds');
  await here.done;
  const warned = scenario.server.output().includes(`(pid ${here.pid}, database postgres) holds back`);
  const late = await submitUnderLoad({
    url: () => scenario.server.url,
    key,
    count: 3,
    concurrency: 3,
    body: (i) => plan(100 + i),
    deadlineMs: 30_000,
  });
  await finishTimes(watcher, [...late.acknowledged.values()], Date.now(), 30_000);
  await projectionsCaughtUp(scenario, 20_000);
  const checked = await audit(scenario.store, new Map([...load.acknowledged, ...late.acknowledged]));

  const slowest = Math.max(...times);
  recordScenario({
    scenario: 'long transaction in another database',
    operations: load.attempts + late.attempts,
    faults: `write transaction held ${HOLD_SECONDS} s in another database; then 8 s in AOS's own`,
    acknowledged: load.acknowledged.size + late.acknowledged.size,
    lost: checked.lost.length,
    duplicated: checked.duplicatedEvents + checked.duplicatedRuns + checked.duplicatedCharges,
    fiveXX: load.fiveXX + late.fiveXX,
    notes:
      `${times.length}/${RUNS} runs finished while it was held, slowest ${slowest.toFixed(1)} s; ` +
      `read models caught up while held: ${caughtUpWhileHeld}; xmin horizon age ${xminAge.toFixed(0)} s, ` +
      `read horizon age ${readAgeElsewhere.toFixed(0)} s; own database: /readyz ${degraded?.status} ` +
      `${degraded?.body?.status} (${degraded?.body?.degraded?.[0]?.cause}), read horizon age ${readAgeHere.toFixed(0)} s, ` +
      `warning logged: ${warned}`,
  });

  const serverLog = scenario.server.output().slice(-4000);
  expect(times, serverLog).toHaveLength(RUNS);
  expect(slowest, serverLog).toBeLessThan(20);
  expect(caughtUpWhileHeld).toBe(true);
  // Measured a few seconds into the hold: the cluster's horizon is held while AOS reads on.
  expect(xminAge).toBeGreaterThan(2);
  expect(readAgeElsewhere).toBe(0);
  // Ready, and nothing named as holding work back (the Kafka publisher's state may ride along).
  expect(readyElsewhere).toMatchObject({ status: 'ready' });
  expect(readyElsewhere).not.toHaveProperty('degraded');
  expect(degraded, serverLog).toMatchObject({
    status: 200,
    body: {
      status: 'degraded',
      degraded: [{ cause: 'read_horizon_held', blockingBackend: { pid: here.pid, database: 'postgres' } }],
    },
  });
  expect(readAgeHere).toBeGreaterThan(1);
  expect(warned, serverLog).toBe(true);
  expect(load.fiveXX + late.fiveXX).toBe(0);
  expect(checked).toEqual({ ...nothingWrong, openReservations: checked.openReservations });
});
