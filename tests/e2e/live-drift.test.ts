// The live divergence report as a breaker signal, end to end on PGlite and PostgreSQL: a
// provider (a local OpenAI-compatible server) reports costs far above what the price table
// computes, so every run is charged more than v2 estimated; once the divergence read model has
// the samples, the live-drift check (the one the canary's timer makes every 5 minutes) records
// EstimatorDisabled {source: divergence, severity: P1} and budgets rely on v1.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BREAKER_STREAM } from '../../commands/estimator-breaker.ts';
import { type CanaryDeps, checkLiveDrift } from '../../commands/estimator-canary.ts';
import { createCanaryLock } from '../../infra/estimators/canary-lock.ts';
import { liveDriftFrom } from '../../infra/estimators/live-drift.ts';
import { recentRunsFrom } from '../../infra/estimators/recent-runs.ts';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { postgresReachable } from '../support/postgres.ts';

const stores = (await postgresReachable()) ? (['pglite', 'postgres'] as const) : (['pglite'] as const);

describe.each(stores)('live divergence drift on %s', { timeout: 120_000 }, (store) => {
  let app: TestApp;
  let operator: string;
  let deps: CanaryDeps;
  // The provider bills $0.05 a call whatever the tokens: far above the price table's figure.
  const provider: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          model: 'gpt-4o-mini',
          choices: [{ message: { content: 'ok' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 10, completion_tokens: 5, cost: 0.05 },
        }),
      );
    });
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(provider.address() as AddressInfo).port}/v1`;
    app = await startTestApp(store, { AOS_LLM_BASE_URL: base, AOS_DRIFT_MIN_SAMPLES: '3' });
    operator = await app.keyFor('acme', 'operator');
    deps = {
      store: app.store,
      clock: () => new Date(),
      lock: await createCanaryLock(app.store.client),
      recentRuns: recentRunsFrom(app.store.client),
      datasets: async () => [],
      policy: { minSeverity: 'P2', autoRecovery: false },
      sampleSize: 50,
      liveDrift: liveDriftFrom(app.store.client, { minSamples: 3 }),
    };
  }, 120_000);
  afterAll(async () => {
    await app.stop();
    provider.close();
  });

  it('is no signal while the charges match the estimates (no samples yet)', async () => {
    expect(await checkLiveDrift(deps)).toBe(false);
    expect(await app.store.readStream(BREAKER_STREAM)).toEqual([]);
  });

  it('disables v2 once the live report alerts and v2 fell short of every charge', async () => {
    for (let n = 0; n < 4; n++) {
      const submitted = await app.request('POST', '/v1/runs', {
        key: operator,
        body: {
          agentId: 'billed',
          plan: {
            steps: [
              { skill: 'llm_invoke', input: { model: 'gpt-4o-mini', prompt: `call ${n}`, maxTokens: 16 } },
            ],
          },
          budget: { maxCostMicros: 1_000_000 },
        },
      });
      expect(submitted.status).toBe(202);
      await waitForRun(app, operator, submitted.body.runId, ['succeeded']);
    }
    for (;;) {
      const live = await app.request('GET', '/v1/divergence?source=actual&days=1', { key: operator });
      if (live.body.sample_count >= 4) {
        expect(live.body.drift_alert).toBe(true);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await checkLiveDrift(deps)).toBe(true);
    const [disabled] = await app.store.readStream(BREAKER_STREAM);
    expect(disabled).toMatchObject({
      type: 'EstimatorDisabled',
      data: { estimator: 'v2', source: 'divergence', severity: 'P1' },
    });
    expect((disabled!.data as { reason: string }).reason).toMatch(
      /^live divergence for tenant acme: drift alert, v2 below the charge on 100 % of 4 samples \(P1\)/,
    );
    expect((await app.request('GET', '/v1/estimators/status', { key: operator })).body.basis).toBe('v1');
    // Already out: a second look records nothing.
    expect(await checkLiveDrift(deps)).toBe(false);
  });
});
