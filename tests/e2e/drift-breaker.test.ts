// The drift breaker end to end on PGlite and PostgreSQL: a canary that finds v2 missing every
// charge (the price table changed under it) records EstimatorDisabled; simulate and new runs
// then rely on v1 and say so (RunEstimated.basis, the reservation amounts, the simulate answer)
// and the run certifies; an operator puts v2 back; with auto-recovery, a passing canary does.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BREAKER_STREAM } from '../../commands/estimator-breaker.ts';
import { estimatePlan } from '../../domain/estimate.ts';
import { defaultPriceTable } from '../../domain/pricing.ts';
import { RunCertifier } from '../../replay/certify-runs.ts';
import { SYSTEM_KEY, startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { driftV2, recordRuns } from '../support/estimator-drift.ts';
import { postgresReachable } from '../support/postgres.ts';

const exec = promisify(execFile);
const stores = (await postgresReachable()) ? (['pglite', 'postgres'] as const) : (['pglite'] as const);

// Its call fails (no usage, no charge): the run ends failed, so no later canary samples it and
// the last test's canary judges only the runs charged under the table in force again.
const plan = {
  agentId: 'after-drift',
  plan: {
    steps: [
      {
        skill: 'llm_invoke',
        input: { model: 'stub', prompt: 'x'.repeat(4000), maxTokens: 64, stub: { failAttempts: 9 } },
        retry: { maxAttempts: 1 },
      },
    ],
  },
  budget: { maxCostMicros: 10_000_000 },
};

describe.each(stores)('the drift breaker on %s', { timeout: 120_000 }, (store) => {
  let app: TestApp;
  let operator: string;

  beforeAll(async () => {
    app = await startTestApp(store, { AOS_BREAKER_AUTO_RECOVERY: 'on' });
    operator = await app.keyFor('acme', 'operator');
    await recordRuns(app, operator, 4);
  }, 180_000);
  afterAll(async () => {
    await app.stop();
  });

  it('takes v2 out when a canary finds it drifting P1', async () => {
    const report = await driftV2(app);
    expect(report).toMatchObject({ verdict: 'fail', severity: { v2: 'P1' } });
    const [disabled] = await app.store.readStream(BREAKER_STREAM);
    expect(disabled).toMatchObject({
      type: 'EstimatorDisabled',
      data: { estimator: 'v2', source: 'canary', severity: 'P1' },
    });
    expect((disabled!.data as { metrics: { withinTolerance: number } }).metrics.withinTolerance).toBe(0);
    const status = await app.request('GET', '/v1/estimators/status', { key: operator });
    expect(status.body).toMatchObject({ basis: 'v1', autoRecovery: true });
    expect(status.body.estimators[1]).toMatchObject({ estimator: 'v2', enabled: false, severity: 'P1' });
  });

  it('simulate and new runs rely on v1 meanwhile, and say so; the run certifies', async () => {
    const simulated = await app.request('POST', '/v1/simulate', { key: operator, body: plan });
    expect(simulated.status).toBe(200);
    expect(simulated.body.basis).toMatchObject({
      estimator: 'v1',
      note: expect.stringMatching(/^v2 is disabled/),
    });
    expect(simulated.body.costMicros).toBe(simulated.body.estimate.v1.costMicros);
    expect(simulated.body.risks).toContain(simulated.body.basis.note);

    const submitted = await app.request('POST', '/v1/runs', { key: operator, body: plan });
    const runId = submitted.body.runId;
    await waitForRun(app, operator, runId, ['failed']);
    const events = await app.store.readStream(`run-${runId}`);
    const estimated = events.find((e) => e.type === 'RunEstimated')!.data as {
      basis: string;
      basisNote: string;
    };
    expect(estimated.basis).toBe('v1');
    expect(estimated.basisNote).toMatch(/^v2 is disabled by the drift breaker/);
    // The reservation is v1's estimate of the step, not v2's.
    const v1 = estimatePlan(plan.plan.steps, { priceTable: defaultPriceTable }).v1.steps[0]!.costMicros;
    const started = events.find((e) => e.type === 'SkillCallStarted')!.data as { estimateMicros: number };
    expect(started.estimateMicros).toBe(v1);
    const certifier = new RunCertifier();
    for (const event of events) certifier.add(event);
    expect(certifier.finish()).toMatchObject({ runs: 1, certified: 1, failed: 0 });
  });

  it('an operator puts v2 back; a passing canary (auto-recovery) does too', async () => {
    // Through the command line (POST /v1/admin/estimators/v2/enable with the system key).
    const url = await app.server.listen({ host: '127.0.0.1', port: 0 });
    const status = await exec('node', ['bin/aos.js', 'estimators', 'status'], {
      env: { ...process.env, AOS_URL: url, AOS_API_KEY: operator },
    });
    expect(JSON.parse(status.stdout)).toMatchObject({ basis: 'v1', autoRecovery: true });
    const enabled = await exec(
      'node',
      ['bin/aos.js', 'estimators', 'enable', 'v2', '--reason', 'prices checked'],
      {
        env: { ...process.env, AOS_URL: url, AOS_API_KEY: SYSTEM_KEY },
      },
    );
    expect(enabled.stderr).toBe('v2 is back in service\n');
    expect(JSON.parse(enabled.stdout)).toMatchObject({
      estimator: 'v2',
      enabled: true,
      reason: 'prices checked',
    });
    expect((await app.request('GET', '/v1/estimators/status', { key: operator })).body.basis).toBe('v2');
    const bad = await app.request('POST', '/v1/admin/estimators/v3/enable', {
      key: SYSTEM_KEY,
      body: { reason: 'x' },
    });
    expect(bad.status).toBe(400);
    // Drift again (the same dearer table and runs), then put the table the runs were charged by back.
    expect(
      (await app.request('POST', '/v1/admin/estimators/canary', { key: SYSTEM_KEY })).body.report.severity.v2,
    ).toBe('P1');
    expect((await app.request('GET', '/v1/estimators/status', { key: operator })).body.basis).toBe('v1');
    const back = await app.request('PUT', '/v1/admin/price-tables', {
      key: SYSTEM_KEY,
      body: defaultPriceTable,
    });
    expect(back.status).toBe(200);
    const sound = await app.request('POST', '/v1/admin/estimators/canary', { key: SYSTEM_KEY });
    expect(sound.body.report).toMatchObject({ verdict: 'pass', severity: { v2: null } });
    const types = (await app.store.readStream(BREAKER_STREAM)).map((e) => [
      e.type,
      (e.data as { source: string }).source,
    ]);
    expect(types).toEqual([
      ['EstimatorDisabled', 'canary'],
      ['EstimatorEnabled', 'operator'],
      ['EstimatorDisabled', 'canary'],
      ['EstimatorEnabled', 'canary'],
    ]);
  });
});
