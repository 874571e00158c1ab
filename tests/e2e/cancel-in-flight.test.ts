// Issue 15.5: a cancel stops what is running. A run whose call takes 60 s is cancelled while
// the call is out: the call is aborted at once, the attempt is recorded CANCELLED, no retry is
// scheduled, and the run ends cancelled — within a second or two, not at the call's timeout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../domain/events/run-events.ts';
import { certifyRun } from '../../domain/run/certify.ts';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { postgresReachable } from '../support/postgres.ts';

const stores = (await postgresReachable()) ? (['pglite', 'postgres'] as const) : (['pglite'] as const);

describe.each(stores)('cancelling a run with a call in flight on %s', (store) => {
  let app: TestApp;
  let key: string;
  beforeAll(async () => {
    app = await startTestApp(store);
    key = await app.keyFor('acme', 'operator');
  });
  afterAll(() => app.stop());

  it('aborts the call, records the attempt cancelled, schedules nothing after', async () => {
    const submitted = await app.request('POST', '/v1/runs', {
      key,
      body: {
        agentId: 'slow',
        plan: {
          steps: [
            { skill: 'llm_invoke', input: { model: 'stub', prompt: 'wait', stub: { delayMs: 60_000 } } },
          ],
        },
        budget: { maxCostMicros: 1_000_000 },
      },
    });
    expect(submitted.status).toBe(202);
    const { runId } = submitted.body;
    const events = async () =>
      (await app.request('GET', `/v1/runs/${runId}/events?limit=100`, { key })).body.events as Array<{
        type: string;
        data: Record<string, unknown>;
      }>;
    for (let i = 0; i < 400 && !(await events()).some((e) => e.type === 'SkillCallStarted'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const asked = Date.now();
    const cancel = await app.request('POST', `/v1/runs/${runId}/cancel`, {
      key,
      body: { reason: 'too slow' },
    });
    expect(cancel.status).toBeLessThan(300);
    const run = await waitForRun(app, key, runId, ['cancelled', 'failed', 'succeeded'], 10_000);
    expect(Date.now() - asked).toBeLessThan(3_000);
    expect(run.status).toBe('cancelled');
    const recorded = await events();
    const types = recorded.map((e) => e.type);
    expect(recorded.find((e) => e.type === 'SkillCallFailed')?.data).toMatchObject({
      errorCode: 'CANCELLED',
    });
    expect(types.slice(types.indexOf('RunCancelRequested'))).not.toContain('RetryScheduled');
    expect(types.at(-1)).toBe('RunCompleted');
    // The abort is an observation like any outcome: certification re-decides the run from it.
    expect(certifyRun(recorded.map((e) => ({ type: e.type, data: e.data }) as RunEvent))).toMatchObject({
      certified: true,
    });
  }, 30_000);
});
