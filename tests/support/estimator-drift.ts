// Makes v2 drift for real: runs charged under the default prices, then a price table with the
// stub model 100 times dearer adopted, so that re-estimating those runs under the table in
// force lands v2 far above every charge (a P1 for the canary).
import { expect } from 'vitest';
import { defaultPriceTable } from '../../domain/pricing.ts';
import { historicalPlans } from '../../scripts/historical-runs.ts';
import { SYSTEM_KEY, type TestApp, waitForRun } from './app.ts';

export const dearerStub = {
  version: 'stub-times-100',
  models: {
    ...defaultPriceTable.models,
    stub: {
      inputMicrosPerMillion: defaultPriceTable.models.stub!.inputMicrosPerMillion * 100,
      outputMicrosPerMillion: defaultPriceTable.models.stub!.outputMicrosPerMillion * 100,
      cachedInputMicrosPerMillion: defaultPriceTable.models.stub!.cachedInputMicrosPerMillion * 100,
    },
  },
};

/** Runs `count` stub plans to success and waits until the runs read model has them. */
export async function recordRuns(app: TestApp, key: string, count: number): Promise<string[]> {
  const runIds: string[] = [];
  for (const steps of historicalPlans(count)) {
    const submitted = await app.request('POST', '/v1/runs', {
      key,
      body: { agentId: 'drift', plan: { steps }, budget: { maxCostMicros: 10_000_000 } },
    });
    expect(submitted.status).toBe(202);
    runIds.push(submitted.body.runId);
  }
  for (const runId of runIds) await waitForRun(app, key, runId, ['succeeded']);
  for (;;) {
    const listed = await app.request('GET', '/v1/runs?limit=100', { key });
    const done = listed.body.items.filter((r: { runId: string; status: string }) => runIds.includes(r.runId));
    if (done.length === runIds.length && done.every((r: { status: string }) => r.status === 'succeeded'))
      break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return runIds;
}

/** Adopts the dearer table and runs the canary: v2 misses every charge. */
export async function driftV2(app: TestApp) {
  const adopted = await app.request('PUT', '/v1/admin/price-tables', { key: SYSTEM_KEY, body: dearerStub });
  expect(adopted.status).toBe(200);
  const canary = await app.request('POST', '/v1/admin/estimators/canary', { key: SYSTEM_KEY });
  expect(canary.status).toBe(200);
  return canary.body.report;
}
