// Issue 15.1–2: the failure catalog as reference data and a recovery an operator accepts. A
// local OpenAI-compatible provider answers 503 "overloaded" for model `primary-x`; a catalog
// adopted through PUT /v1/admin/failure-catalog says to fall back to `stub` for that. The failed
// attempt is classified (FailureClassified), the recovery waits on the run (its detail, GET
// /v1/failures), an operator accepts it, and the run finishes on the other model. The run
// certifies. On PGlite and PostgreSQL.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../domain/events/run-events.ts';
import { defaultFailureCatalog } from '../../domain/failure-catalog-default.ts';
import { certifyRun } from '../../domain/run/certify.ts';
import { SYSTEM_KEY, startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { postgresReachable } from '../support/postgres.ts';
import { replayCertified } from '../support/replay-cli.ts';

const stores = (await postgresReachable()) ? (['pglite', 'postgres'] as const) : (['pglite'] as const);

const overloadedEntry = {
  id: 'llm.overloaded',
  match: { errorCode: 'HTTP_5XX', skill: 'llm_invoke', httpStatus: 503, messagePattern: 'overloaded' },
  category: 'TRANSIENT',
  retry: false,
  recovery: { mode: 'fallback_model', params: { model: 'stub' } },
  confidence: 0.8,
  automatic: false,
  description: 'the provider is overloaded: the stub model answers instead',
};
const catalog = { version: 'ops-2', entries: [overloadedEntry, ...defaultFailureCatalog.entries] };

/** An OpenAI-compatible provider whose every model is overloaded. */
async function overloadedProvider(): Promise<{ server: Server; url: string; calls: () => number }> {
  let calls = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      calls++;
      response.writeHead(503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: 'The model primary-x is overloaded' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/v1`, calls: () => calls };
}

type Recorded = { type: string; data: Record<string, unknown> };

describe.each(stores)('failure catalog and an accepted recovery on %s', (store) => {
  let app: TestApp;
  let provider: Awaited<ReturnType<typeof overloadedProvider>>;
  let operator: string;
  let viewer: string;
  beforeAll(async () => {
    provider = await overloadedProvider();
    app = await startTestApp(store, { AOS_LLM_BASE_URL: provider.url, AOS_LLM_API_KEY: 'test' });
    operator = await app.keyFor('acme', 'operator');
    viewer = await app.keyFor('acme', 'viewer');
  });
  afterAll(async () => {
    await app.stop();
    await new Promise((resolve) => provider.server.close(resolve));
  });

  it('ships a default catalog and adopts a new version with its history', async () => {
    const shipped = await app.request('GET', '/v1/admin/failure-catalog', { key: SYSTEM_KEY });
    expect(shipped.status).toBe(200);
    expect(shipped.body).toMatchObject({ version: 'aos-default-1', position: 0, actor: 'system:bootstrap' });
    expect(shipped.body.entries).toHaveLength(defaultFailureCatalog.entries.length);

    expect((await app.request('GET', '/v1/admin/failure-catalog', { key: operator })).status).toBe(403);
    const bad = await app.request('PUT', '/v1/admin/failure-catalog', {
      key: SYSTEM_KEY,
      body: {
        version: 'bad',
        entries: [{ ...overloadedEntry, recovery: { mode: 'fallback_model', params: {} } }],
      },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.error.details.issues)).toContain('"recovery","params","model"');

    const put = await app.request('PUT', '/v1/admin/failure-catalog', { key: SYSTEM_KEY, body: catalog });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ changed: true, failureCatalog: { version: 'ops-2', position: 1 } });
    const again = await app.request('PUT', '/v1/admin/failure-catalog', { key: SYSTEM_KEY, body: catalog });
    expect(again.body.changed).toBe(false);
    const reused = await app.request('PUT', '/v1/admin/failure-catalog', {
      key: SYSTEM_KEY,
      body: { version: 'ops-2', entries: defaultFailureCatalog.entries },
    });
    expect(reused.status).toBe(400);
    const history = await app.request('GET', '/v1/admin/failure-catalog/history', { key: SYSTEM_KEY });
    expect(history.body.items.map((item: { version: string }) => item.version)).toEqual([
      'aos-default-1',
      'ops-2',
    ]);
  });

  it('classifies the failure, waits for the operator, and finishes on the fallback model', async () => {
    const submitted = await app.request('POST', '/v1/runs', {
      key: operator,
      body: {
        agentId: 'writer',
        plan: {
          steps: [
            { skill: 'llm_invoke', input: { model: 'primary-x', prompt: 'Write a haiku', maxTokens: 32 } },
          ],
        },
        budget: { maxCostMicros: 1_000_000 },
      },
    });
    expect(submitted.status).toBe(202);
    const { runId } = submitted.body;

    let detail: any;
    for (let i = 0; i < 400; i++) {
      detail = (await app.request('GET', `/v1/runs/${runId}`, { key: operator })).body;
      if (detail.recoveries?.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(detail.status).toBe('running');
    expect(detail.steps[0].status).toBe('waiting_recovery');
    const [recovery] = detail.recoveries;
    expect(recovery).toMatchObject({
      stepIndex: 0,
      attempt: 1,
      errorCode: 'HTTP_5XX',
      mode: 'fallback_model',
      params: { model: 'stub' },
      change: { model: 'stub' },
      confidence: 0.8,
      automatic: false,
      status: 'pending',
    });
    // Nothing is called while the recovery waits: one call, the failed one.
    expect(provider.calls()).toBe(1);

    let failures: any;
    for (let i = 0; i < 200; i++) {
      failures = (await app.request('GET', '/v1/failures', { key: operator })).body;
      if (failures.items?.[0]?.classification) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(failures.items[0]).toMatchObject({
      errorCode: 'HTTP_5XX',
      failures: 1,
      skills: [{ skill: 'llm_invoke', failures: 1 }],
      classification: {
        catalogVersion: 'ops-2',
        entryId: 'llm.overloaded',
        recovery: { mode: 'fallback_model', params: { model: 'stub' } },
      },
    });
    expect(failures.items[0].firstAt).toBe(failures.items[0].lastAt);

    const url = `/v1/runs/${runId}/recoveries/${recovery.recoveryId}`;
    expect((await app.request('POST', url, { key: viewer, body: { decision: 'accept' } })).status).toBe(403);
    const accepted = await app.request('POST', url, { key: operator, body: { decision: 'accept' } });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ runId, recoveryId: recovery.recoveryId, decision: 'accept' });
    const decidedTwice = await app.request('POST', url, { key: operator, body: { decision: 'reject' } });
    expect(decidedTwice.status).toBe(409);

    const run = await waitForRun(app, operator, runId, ['succeeded', 'failed'], 15_000);
    expect(run.status).toBe('succeeded');
    expect(provider.calls()).toBe(1);
    const final = (await app.request('GET', `/v1/runs/${runId}`, { key: operator })).body;
    expect(final.recoveries[0]).toMatchObject({
      status: 'applied',
      decidedBy: expect.stringMatching(/^operator:/),
    });
    const output = (await app.request('GET', `/v1/runs/${runId}/output`, { key: operator })).body;
    expect(output.status).toBe('succeeded');

    const events = (await app.request('GET', `/v1/runs/${runId}/events?limit=100`, { key: operator })).body
      .events as Recorded[];
    const types = events.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining([
        'FailureClassified',
        'RecoverySuggested',
        'RecoveryDecided',
        'RecoveryApplied',
      ]),
    );
    // The failure and its classification in one append, at consecutive positions.
    expect(types[types.indexOf('SkillCallFailed') + 1]).toBe('FailureClassified');
    const calls = events.filter((e) => e.type === 'SkillCallStarted');
    // A v1 plan records no input, but the attempt a recovery changed records what it called.
    expect(calls).toHaveLength(2);
    expect(calls[1]!.data.input).toMatchObject({ model: 'stub', prompt: 'Write a haiku' });
    expect(events.find((e) => e.type === 'SkillCallSucceeded')?.data.output).toMatchObject({ model: 'stub' });
    expect(certifyRun(events.map((e) => ({ type: e.type, data: e.data }) as RunEvent))).toMatchObject({
      certified: true,
    });
    const summary = await replayCertified(app, await app.keyFor('acme', 'auditor'), `run=${runId}`);
    expect(summary.certification).toMatchObject({ runs: 1, certified: 1, failed: 0 });
    expect(summary.verification).toMatchObject({ verified: true, problemCount: 0 });
  }, 60_000);
});
