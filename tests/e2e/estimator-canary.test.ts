// The estimator canary end to end on PGlite and PostgreSQL, with a test clock: on demand it
// samples the last day's succeeded runs, re-estimates them and records CanaryCompleted with
// the charges it compared against; runs older than a day fall out; one canary at a time (an
// advisory lock held elsewhere on PostgreSQL, a concurrent request on PGlite); the schedule
// in `aos serve` runs once per interval and not again while the interval has not passed.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY_STREAM } from '../../commands/estimator-canary.ts';
import { ESTIMATOR_VERSIONS } from '../../domain/estimator-canary.ts';
import { defaultPriceTable } from '../../domain/pricing.ts';
import { CANARY_LOCK_KEY } from '../../infra/estimators/canary-lock.ts';
import { SYSTEM_KEY, startTestApp, type TestApp } from '../support/app.ts';
import { recordRuns } from '../support/estimator-drift.ts';
import { databaseUrl, postgresReachable } from '../support/postgres.ts';

const stores = (await postgresReachable()) ? (['pglite', 'postgres'] as const) : (['pglite'] as const);
const DAY = 24 * 3_600_000;
const exec = promisify(execFile);

/** A clock the test moves: real time plus an offset, or frozen. */
function testClock() {
  let offset = 0;
  let frozen: number | undefined;
  return {
    now: () => new Date(frozen ?? Date.now() + offset),
    advance: (ms: number) => {
      offset += ms;
    },
    freeze: () => {
      frozen = Date.now() + offset;
    },
    resume: () => {
      offset = frozen! - Date.now();
      frozen = undefined;
    },
  };
}

describe.each(stores)('the estimator canary on %s', { timeout: 120_000 }, (store) => {
  let app: TestApp;
  let operator: string;
  let runIds: string[];
  const clock = testClock();
  const runCanary = () => app.request('POST', '/v1/admin/estimators/canary', { key: SYSTEM_KEY });

  beforeAll(async () => {
    app = await startTestApp(store, {}, { clock: clock.now });
    operator = await app.keyFor('acme', 'operator');
    runIds = await recordRuns(app, operator, 5);
  }, 180_000);
  afterAll(async () => {
    await app.stop();
  });

  it("re-estimates the last day's runs against their charges and records CanaryCompleted", async () => {
    const ran = await runCanary();
    expect(ran.status).toBe(200);
    expect(ran.body.ran).toBe(true);
    const report = ran.body.report;
    expect(report).toMatchObject({
      verdict: 'pass',
      trigger: 'on_demand',
      candidates: 5,
      sampleSize: 5,
      severity: { v1: null, v2: null },
      priceTable: { version: defaultPriceTable.version },
      estimatorVersions: ESTIMATOR_VERSIONS,
    });
    expect(report.metrics.v2.withinTolerance).toBe(1);
    // Five shipped datasets judged again, each with its declared verdicts.
    expect(report.metrics.datasets).toHaveLength(5);
    expect(report.metrics.datasets.every((d: { asExpected: boolean }) => d.asExpected)).toBe(true);
    const [event] = await app.store.readStream(CANARY_STREAM);
    expect(event!.type).toBe('CanaryCompleted');
    expect(event!.metadata).toMatchObject({ tenantId: 'system', actor: 'system:canary' });
    const sample = (event!.data as { sample: { runId: string; chargedMicros: number }[] }).sample;
    expect(sample.map((s) => s.runId).sort()).toEqual([...runIds].sort());
    for (const entry of sample) {
      const charged = (await app.store.readStream(`run-${entry.runId}`))
        .filter((e) => e.type === 'CostCharged')
        .reduce((sum, e) => sum + (e.data as { chargedMicros: number }).chargedMicros, 0);
      expect(entry.chargedMicros).toBe(charged);
    }
    // Any key of any tenant reads the reports (newest first), without the sample's plans.
    const listed = await app.request('GET', '/v1/estimators/canary', { key: operator });
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0]).not.toHaveProperty('sample');
    expect((await app.request('POST', '/v1/admin/estimators/canary', { key: operator })).status).toBe(403);
  });

  it('leaves out runs submitted more than a day ago', async () => {
    clock.advance(DAY + 60_000);
    const ran = await runCanary();
    expect(ran.body.report).toMatchObject({ verdict: 'pass', candidates: 0, sampleSize: 0 });
    expect(ran.body.report.reasons).toContain(
      'no succeeded run was submitted in the window: only the datasets were judged',
    );
    const listed = await app.request('GET', '/v1/estimators/canary', { key: operator });
    expect(listed.body.items.map((r: { sampleSize: number }) => r.sampleSize)).toEqual([0, 5]);
  });

  it('runs from the command line (aos canary run, with the system key; aos canary list)', async () => {
    const env = { ...process.env, AOS_URL: await app.server.listen({ host: '127.0.0.1', port: 0 }) };
    const run = await exec('node', ['bin/aos.js', 'canary', 'run'], {
      env: { ...env, AOS_API_KEY: SYSTEM_KEY },
    });
    expect(run.stderr).toMatch(/^canary pass: v1 sound, v2 sound/);
    expect(JSON.parse(run.stdout)).toMatchObject({ verdict: 'pass', trigger: 'on_demand' });
    const list = await exec('node', ['bin/aos.js', 'canary', 'list', '--limit', '1'], {
      env: { ...env, AOS_API_KEY: operator },
    });
    expect(JSON.parse(list.stdout)).toHaveLength(1);
  });

  it('runs one canary at a time', async () => {
    const before = (await app.store.readStream(CANARY_STREAM)).length;
    if (store === 'postgres') {
      // Another instance holds the lock: this one does not run.
      const other = new pg.Client({ connectionString: databaseUrl });
      await other.connect();
      await other.query('SELECT pg_advisory_lock($1)', [CANARY_LOCK_KEY]);
      const refused = await runCanary();
      expect(refused.body).toEqual({ ran: false, report: null });
      await other.query('SELECT pg_advisory_unlock($1)', [CANARY_LOCK_KEY]);
      await other.end();
      expect((await runCanary()).body.ran).toBe(true);
      expect((await app.store.readStream(CANARY_STREAM)).length).toBe(before + 1);
    } else {
      const outcomes = await Promise.all([runCanary(), runCanary()]);
      expect(outcomes.map((o) => o.body.ran).sort()).toEqual([false, true]);
      expect((await app.store.readStream(CANARY_STREAM)).length).toBe(before + 1);
    }
  });
});

describe.each(stores)('the canary schedule on %s', { timeout: 60_000 }, (store) => {
  it('runs once per interval, and not while the interval has not passed', async () => {
    const clock = testClock();
    const app = await startTestApp(store, { AOS_CANARY_INTERVAL_MS: '1000' }, { clock: clock.now });
    try {
      const scheduled = async () =>
        (await app.store.readStream(CANARY_STREAM)).filter(
          (e) => (e.data as { trigger: string }).trigger === 'schedule',
        ).length;
      const deadline = Date.now() + 20_000;
      while ((await scheduled()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await scheduled()).toBe(1);
      // With time standing still, the interval never passes: no second canary.
      clock.freeze();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await scheduled()).toBe(1);
      // Once the interval has passed, the next tick runs one more.
      clock.resume();
      clock.advance(1_000);
      while ((await scheduled()) === 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await scheduled()).toBe(2);
    } finally {
      await app.stop();
    }
  });
});
