// Policy and prices as commands, end to end on PGlite and PostgreSQL: a tenant admin puts a
// policy in force and simulate and a submitted run both refuse the host it denies; the system
// key adopts a price table and the next run is charged by it; bad versions are 400s naming the
// field with nothing written; history lists every version; certification re-decides every run
// with the version it recorded.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeChargeMicros, defaultPriceTable } from '../../domain/pricing.ts';
import { RunCertifier } from '../../replay/certify-runs.ts';
import { SYSTEM_KEY, startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { readAllEvents } from '../support/count-events.ts';
import { postgresReachable } from '../support/postgres.ts';

const stores = (await postgresReachable()) ? (['pglite', 'postgres'] as const) : (['pglite'] as const);

const pricier = {
  version: 'pricier-1',
  models: {
    ...defaultPriceTable.models,
    stub: {
      inputMicrosPerMillion: 1_000_000,
      outputMicrosPerMillion: 2_000_000,
      cachedInputMicrosPerMillion: 100_000,
    },
  },
};

describe.each(stores)('policy and prices as commands on %s', (store) => {
  let app: TestApp;
  let admin: string;
  let operator: string;
  let url: string;
  const server: Server = createServer((_req, res) => res.end('{"ok":true}'));

  const put = (path: string, body: unknown, key: string) => app.request('PUT', path, { key, body });
  const get = (path: string, key: string) => app.request('GET', path, { key });
  const fetchPlan = () => ({
    agentId: 'scout',
    plan: { steps: [{ skill: 'http_call', input: { method: 'GET', url } }] },
    budget: { maxCostMicros: 1_000_000 },
  });
  const askPlan = {
    agentId: 'scout',
    plan: { steps: [{ skill: 'llm_invoke', input: { model: 'stub', prompt: 'Price me' } }] },
    budget: { maxCostMicros: 1_000_000 },
    // One seed: the stub model answers both runs with the same usage.
    seed: 7,
  };
  const issuePaths = (body: any) =>
    body.error.details.issues.map((i: { path: unknown[] }) => i.path.join('.'));
  const eventsOf = async (runId: string) => app.store.readStream(`run-${runId}`);

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data`;
    app = await startTestApp(store);
    admin = await app.keyFor('acme', 'admin');
    operator = await app.keyFor('acme', 'operator');
  });
  afterAll(async () => {
    await app?.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('answers the default policy until one is put in force; refuses a bad one naming the field, writing nothing', async () => {
    expect((await get('/v1/policy', operator)).body).toMatchObject({
      version: 'aos-default-1',
      source: 'default',
      position: null,
    });
    expect((await put('/v1/policy', { version: 'x', rules: {} }, operator)).status).toBe(403);
    const bad = await put(
      '/v1/policy',
      { version: '', rules: { httpDenyHosts: ['http://x/'], denyHost: 1 } },
      admin,
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_INPUT');
    expect(issuePaths(bad.body)).toEqual(
      expect.arrayContaining(['version', 'rules.httpDenyHosts.0', 'rules']),
    );
    expect((await get('/v1/policy/history', operator)).body).toEqual({ items: [] });
    expect(await app.store.readStream('policy-acme')).toEqual([]);
  });

  it('a host the new policy denies is refused by simulate and by a submitted run alike', async () => {
    expect(
      (await app.request('POST', '/v1/simulate', { key: operator, body: fetchPlan() })).body.steps[0].policy
        .result,
    ).toBe('allow');
    const lockdown = { version: 'lockdown-1', rules: { httpDenyHosts: ['127.0.0.1'] } };
    const first = await put('/v1/policy', lockdown, admin);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ changed: true, policy: { ...lockdown, position: 0 } });
    expect(first.body.policy.actor).toMatch(/^admin:/);
    expect((await put('/v1/policy', lockdown, admin)).body.changed).toBe(false);
    const reused = await put('/v1/policy', { version: 'lockdown-1', rules: {} }, admin);
    expect(reused.status).toBe(400);
    expect(issuePaths(reused.body)).toEqual(['version']);
    expect((await get('/v1/policy', operator)).body).toMatchObject({
      ...lockdown,
      source: 'published',
      position: 0,
    });
    expect((await get('/v1/policy/history', operator)).body.items.map((p: any) => p.version)).toEqual([
      'lockdown-1',
    ]);

    const simulated = (await app.request('POST', '/v1/simulate', { key: operator, body: fetchPlan() })).body;
    expect(simulated.feasible).toBe(false);
    expect(simulated.policy.version).toBe('lockdown-1');
    expect(simulated.steps[0].policy).toMatchObject({ result: 'deny', ruleId: 'http.hosts.deny' });

    const submitted = await app.request('POST', '/v1/runs', { key: operator, body: fetchPlan() });
    expect(submitted.status).toBe(202);
    const run = await waitForRun(app, operator, submitted.body.runId, [
      'succeeded',
      'failed',
      'policy_denied',
    ]);
    expect(run.status).toBe('policy_denied');
    const decided = (await eventsOf(submitted.body.runId)).find((e) => e.type === 'PolicyDecided')!;
    expect(decided.data).toMatchObject({
      result: 'deny',
      ruleId: 'http.hosts.deny',
      policyVersion: 'lockdown-1',
      // The policy in force: the published one with the installation's local-address
      // exemptions (the test app's AOS_HTTP_ALLOW_HOSTS), as simulate reports it too.
      policyHash: simulated.policy.hash,
    });

    // Another tenant's policy is its own.
    const other = await app.keyFor('globex', 'operator');
    expect(
      (await app.request('POST', '/v1/simulate', { key: other, body: fetchPlan() })).body.steps[0].policy
        .result,
    ).toBe('allow');
  });

  it('a price table the system key adopts charges the next run; a bad one is refused naming the field', async () => {
    expect((await get('/v1/admin/price-tables', admin)).status).toBe(403);
    expect((await get('/v1/admin/price-tables', SYSTEM_KEY)).body).toMatchObject({
      version: 'aos-default-1',
      position: 0,
    });
    const { unknown: _fallback, ...withoutFallback }: Record<string, unknown> = pricier.models;
    const missing = await put(
      '/v1/admin/price-tables',
      { version: 'bad-1', models: withoutFallback },
      SYSTEM_KEY,
    );
    expect(missing.status).toBe(400);
    expect(issuePaths(missing.body)).toEqual(['models']);
    const negative = await put(
      '/v1/admin/price-tables',
      {
        version: 'bad-2',
        models: { ...pricier.models, stub: { ...pricier.models.stub, inputMicrosPerMillion: -1 } },
      },
      SYSTEM_KEY,
    );
    expect(issuePaths(negative.body)).toEqual(['models.stub.inputMicrosPerMillion']);
    expect((await put('/v1/admin/price-tables', pricier, admin)).status).toBe(403);
    expect((await get('/v1/admin/price-tables/history', SYSTEM_KEY)).body.items).toHaveLength(1);

    const before = await app.request('POST', '/v1/runs', { key: operator, body: askPlan });
    await waitForRun(app, operator, before.body.runId, ['succeeded']);
    const adopted = await put('/v1/admin/price-tables', pricier, SYSTEM_KEY);
    expect(adopted.body).toMatchObject({ changed: true, priceTable: { version: 'pricier-1', position: 1 } });
    expect(
      (await app.request('POST', '/v1/simulate', { key: operator, body: askPlan })).body.priceTable.version,
    ).toBe('pricier-1');
    const after = await app.request('POST', '/v1/runs', { key: operator, body: askPlan });
    await waitForRun(app, operator, after.body.runId, ['succeeded']);

    const chargeOf = async (runId: string) =>
      (await eventsOf(runId)).find((e) => e.type === 'CostCharged')!.data as {
        usage: Parameters<typeof computeChargeMicros>[0];
        chargedMicros: number;
        priceTableVersion: string;
      };
    const [old, priced] = [await chargeOf(before.body.runId), await chargeOf(after.body.runId)];
    expect(old.priceTableVersion).toBe('aos-default-1');
    expect(priced.priceTableVersion).toBe('pricier-1');
    expect(priced.usage).toEqual(old.usage);
    expect(priced.chargedMicros).toBe(computeChargeMicros(priced.usage, pricier));
    expect(priced.chargedMicros).toBeGreaterThan(old.chargedMicros);
    expect(
      (await get('/v1/admin/price-tables/history', SYSTEM_KEY)).body.items.map((t: any) => t.version),
    ).toEqual(['aos-default-1', 'pricier-1']);
  });

  it('certification re-decides every run with the policy and prices it recorded', async () => {
    const events = await readAllEvents(app.store);
    const certifier = new RunCertifier();
    for (const event of events) certifier.add(event);
    const report = certifier.finish();
    expect(report.runs).toBe(3);
    expect(report.failed).toBe(0);
  });
});
