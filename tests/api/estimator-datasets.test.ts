// Reference datasets over the API, on PGlite and PostgreSQL: uploads are versioned events (the
// same version again changes nothing, other content under a used version or a lower version is
// a 400 naming `version`, a bad sample a 400 naming its field, nothing written); the list shows
// the shipped five with uploads shadowing; validation runs offline (no event written) and a
// what-if price table changes its verdicts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shippedDatasets } from '../../api/shipped-datasets.ts';
import type { EstimatorDataset } from '../../domain/estimator-dataset.ts';
import { defaultPriceTable } from '../../domain/pricing.ts';
import { SYSTEM_KEY, startTestApp, type TestApp } from '../support/app.ts';
import { countEvents } from '../support/count-events.ts';
import { postgresReachable } from '../support/postgres.ts';

const stores = (await postgresReachable()) ? (['pglite', 'postgres'] as const) : (['pglite'] as const);
const shipped = await shippedDatasets();
const noise = shipped.find((dataset) => dataset.name === 'injected-noise')!;

describe.each(stores)('estimator datasets and validation on %s', (store) => {
  let app: TestApp;
  const put = (name: string, body: unknown, key = SYSTEM_KEY) =>
    app.request('PUT', `/v1/admin/estimator-datasets/${name}`, { key, body });
  const issuePaths = (body: any) =>
    body.error.details.issues.map((issue: { path: unknown[] }) => issue.path.join('.'));
  const custom: EstimatorDataset = { ...noise, name: 'team-noise', version: 1, description: 'our own' };

  beforeAll(async () => {
    app = await startTestApp(store);
  });
  afterAll(async () => {
    await app.stop();
  });

  it('lists the five shipped datasets', async () => {
    const listed = await app.request('GET', '/v1/admin/estimator-datasets', { key: SYSTEM_KEY });
    expect(listed.status).toBe(200);
    expect(
      listed.body.items.map((item: { name: string; source: string }) => [item.name, item.source]),
    ).toEqual([
      ['high-variance', 'shipped'],
      ['historical', 'shipped'],
      ['injected-noise', 'shipped'],
      ['low-variance', 'shipped'],
      ['mixed-workload', 'shipped'],
    ]);
  });

  it('records an upload as an event, once per version', async () => {
    const first = await put('team-noise', custom);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      changed: true,
      dataset: { name: 'team-noise', version: 1, source: 'uploaded' },
    });
    const again = await put('team-noise', custom);
    expect(again.body.changed).toBe(false);
    const events = await app.store.readStream('estimator-datasets');
    expect(events.map((event) => event.type)).toEqual(['EstimatorDatasetUploaded']);
    expect(events[0]!.metadata).toMatchObject({
      tenantId: 'system',
      actor: expect.stringMatching(/^system:/),
    });
    const second = await put('team-noise', { ...custom, version: 2, description: 'tighter' });
    expect(second.body).toMatchObject({ changed: true, dataset: { version: 2, description: 'tighter' } });
    const one = await app.request('GET', '/v1/admin/estimator-datasets/team-noise', { key: SYSTEM_KEY });
    expect(one.body).toMatchObject({ source: 'uploaded', dataset: { version: 2, samples: custom.samples } });
  });

  it('refuses a reused or lower version, a wrong name, a bad sample: 400 naming the field, nothing written', async () => {
    const before = await countEvents(app.store);
    const reused = await put('team-noise', { ...custom, version: 2, description: 'other content' });
    expect(reused.status).toBe(400);
    expect(issuePaths(reused.body)).toEqual(['version']);
    const lower = await put('team-noise', { ...custom, version: 1, description: 'older' });
    expect(lower.status).toBe(400);
    expect(issuePaths(lower.body)).toEqual(['version']);
    const renamed = await put('team-noise', { ...custom, name: 'other', version: 3 });
    expect(renamed.status).toBe(400);
    expect(issuePaths(renamed.body)).toEqual(['name']);
    const badSample = structuredClone({ ...custom, version: 3 });
    badSample.samples[2]!.expected = { minMicros: 10, maxMicros: 5, feasible: true };
    const bad = await put('team-noise', badSample);
    expect(bad.status).toBe(400);
    expect(issuePaths(bad.body)).toContain('samples.2.expected.maxMicros');
    const badName = await put('Bad Name', custom);
    expect(badName.status).toBe(400);
    expect(await countEvents(app.store)).toBe(before);
  });

  it("is the system key's: a tenant admin is refused", async () => {
    const admin = await app.keyFor('acme', 'admin');
    expect((await put('team-noise', custom, admin)).status).toBe(403);
    expect(
      (await app.request('POST', '/v1/admin/estimators/validate', { key: admin, body: {} })).status,
    ).toBe(403);
  });

  it('validates every dataset offline: the declared verdicts, and nothing written', async () => {
    const before = await countEvents(app.store);
    const validated = await app.request('POST', '/v1/admin/estimators/validate', {
      key: SYSTEM_KEY,
      body: {},
    });
    expect(validated.status).toBe(200);
    expect(validated.body.ok).toBe(true);
    expect(validated.body.priceTable.version).toBe(defaultPriceTable.version);
    const verdicts = Object.fromEntries(
      validated.body.reports.map((report: any) => [
        report.dataset,
        report.estimators.map((result: any) => result.verdict).join('/'),
      ]),
    );
    expect(verdicts).toEqual({
      'high-variance': 'pass/pass',
      historical: 'fail/pass',
      'injected-noise': 'fail/pass',
      'low-variance': 'fail/pass',
      'mixed-workload': 'pass/pass',
      'team-noise': 'fail/pass',
    });
    expect(validated.body.reports[0].estimators[0].worst.length).toBeGreaterThan(0);
    expect(validated.body.reports[0].estimators[0]).not.toHaveProperty('samples');
    expect(await countEvents(app.store)).toBe(before);
  });

  it('re-runs validation under a what-if price table, and answers 404 for an unknown dataset', async () => {
    const doubled = {
      version: 'doubled',
      models: Object.fromEntries(
        Object.entries(defaultPriceTable.models).map(([model, price]) => [
          model,
          {
            inputMicrosPerMillion: price.inputMicrosPerMillion * 2,
            outputMicrosPerMillion: price.outputMicrosPerMillion * 2,
            cachedInputMicrosPerMillion: price.cachedInputMicrosPerMillion * 2,
          },
        ]),
      ),
    };
    const whatIf = await app.request('POST', '/v1/admin/estimators/validate', {
      key: SYSTEM_KEY,
      body: { dataset: 'low-variance', priceTable: doubled },
    });
    expect(whatIf.status).toBe(200);
    expect(whatIf.body.priceTable.version).toBe('doubled');
    expect(whatIf.body.ok).toBe(false);
    const v2 = whatIf.body.reports[0].estimators.find((result: any) => result.estimator === 'v2');
    expect(v2).toMatchObject({ verdict: 'fail', asExpected: false });
    const missing = await app.request('POST', '/v1/admin/estimators/validate', {
      key: SYSTEM_KEY,
      body: { dataset: 'nope' },
    });
    expect(missing.status).toBe(404);
  });
});
