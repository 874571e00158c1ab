// GET /metrics: Prometheus text, the series that must move when a run succeeds, and who may
// see what: with AOS_METRICS_TOKEN set only its bearer scrapes (tenant series included);
// without it, anyone may, but no series names a tenant.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allMigrations } from '../../infra/migrations.ts';
import { migrate } from '../../infra/store/migrate.ts';
import { saveCheckpoint } from '../../readmodels/checkpointed-consumer.ts';
import { checkpointLags } from '../../readmodels/projection-status.ts';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { events } from '../support/events.ts';
import { postgresReachable } from '../support/postgres.ts';
import { sample } from '../support/prometheus-text.ts';
import { sqlAdapters } from '../support/stores.ts';

const plan = {
  agentId: 'metered',
  plan: {
    steps: [
      {
        skill: 'llm_invoke',
        input: {
          model: 'stub',
          prompt: 'count me',
          maxTokens: 16,
          stub: { failAttempts: 1, errorCode: 'RATE_LIMITED' },
        },
        retry: { initialDelayMs: 5 },
      },
      { skill: 'json_transform', input: { expression: 'a', data: { a: 1 } } },
    ],
  },
  budget: { maxCostMicros: 1_000_000 },
};

const stores = ['pglite', ...((await postgresReachable()) ? ['postgres' as const] : [])] as const;
const TOKEN = `aos_metrics_${'t'.repeat(32)}`;
const scraper = { headers: { authorization: `Bearer ${TOKEN}` } };

for (const storeName of stores) {
  describe(`/metrics on ${storeName}`, () => {
    let app: TestApp;
    let text: string;
    beforeAll(async () => {
      app = await startTestApp(storeName, { AOS_METRICS_TOKEN: TOKEN });
      const key = await app.keyFor('acme', 'operator');
      const submitted = await app.request('POST', '/v1/runs', { key, body: plan });
      expect(submitted.status).toBe(202);
      await waitForRun(app, key, submitted.body.runId, ['succeeded']);
      await app.request('GET', '/v1/runs/not-a-uuid', { key });
      const response = await app.request('GET', '/metrics', scraper);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/plain/);
      text = response.body as string;
    });
    afterAll(() => app.stop());

    it('counts commands by type and outcome', () => {
      expect(sample(text, 'aos_commands_total', { type: 'SubmitRun', outcome: 'recorded' })).toBe(1);
      expect(sample(text, 'aos_commands_total', { type: 'RecordOutcome', outcome: 'recorded' })).toBe(3);
      expect(sample(text, 'aos_commands_total', { type: 'Reserve', outcome: 'recorded' })).toBe(3);
    });

    it('counts skill calls, attempts by error code, and retries', () => {
      expect(sample(text, 'aos_skill_calls_total', { skill: 'llm_invoke' })).toBe(2);
      expect(sample(text, 'aos_skill_calls_total', { skill: 'json_transform' })).toBe(1);
      expect(sample(text, 'aos_skill_attempts_total', { skill: 'llm_invoke', error_code: 'none' })).toBe(1);
      expect(
        sample(text, 'aos_skill_attempts_total', { skill: 'llm_invoke', error_code: 'RATE_LIMITED' }),
      ).toBe(1);
      expect(
        sample(text, 'aos_skill_retries_total', { skill: 'llm_invoke', error_code: 'RATE_LIMITED' }),
      ).toBe(1);
    });

    it('adds up the cost charged by tenant, skill and model, and counts policy decisions and completions', () => {
      const cost = sample(text, 'aos_cost_charged_micros_total', {
        tenant: 'acme',
        skill: 'llm_invoke',
        model: 'stub',
      });
      expect(cost).toBeGreaterThan(0);
      expect(sample(text, 'aos_policy_decisions_total', { result: 'allow' })).toBeGreaterThanOrEqual(2);
      expect(sample(text, 'aos_runs_completed_total', { status: 'succeeded' })).toBe(1);
      expect(text).toContain('# TYPE aos_budget_refusals_total counter');
    });

    it('times appends and HTTP requests by route pattern, never by raw URL', () => {
      expect(
        sample(text, 'aos_event_store_append_duration_seconds_count', { outcome: 'ok' }),
      ).toBeGreaterThan(5);
      expect(
        sample(text, 'aos_http_request_duration_seconds_count', {
          route: '/v1/runs',
          method: 'POST',
          status: '202',
        }),
      ).toBe(1);
      expect(
        sample(text, 'aos_http_request_duration_seconds_count', {
          route: '/v1/runs/:id',
          method: 'GET',
          // A malformed id is refused by the route's params schema.
          status: '400',
        }),
      ).toBe(1);
      expect(text).not.toContain('not-a-uuid');
    });

    it('computes projection lag, the xmin horizon age and drift alerts on scrape', () => {
      for (const projection of ['status_history', 'runs', 'costs']) {
        expect(sample(text, 'aos_projection_lag_events', { projection })).toBeGreaterThanOrEqual(0);
        expect(sample(text, 'aos_projection_lag_seconds', { projection })).toBeGreaterThanOrEqual(0);
      }
      const xmin = sample(text, 'aos_xmin_horizon_age_seconds');
      expect(xmin).toBeGreaterThanOrEqual(0);
      if (storeName === 'pglite') expect(xmin).toBe(0);
      const held = sample(text, 'aos_read_horizon_age_seconds');
      expect(held).toBeGreaterThanOrEqual(0);
      if (storeName === 'pglite') expect(held).toBe(0);
      expect(text).toContain('# TYPE aos_divergence_drift_alert gauge');
    });

    it('exposes every series the example alert rules use', async () => {
      const rules = await readFile('infra/prometheus/alerts.yml', 'utf8');
      const used = new Set(rules.match(/\baos_\w+/g));
      expect(used.size).toBeGreaterThanOrEqual(5);
      // Declared, with or without samples yet (no refusal has happened in this app).
      for (const name of used) expect(text).toContain(`# TYPE ${name.replace(/_(count|sum|bucket)$/, '')} `);
    });

    it('refuses a scrape without the token, or with another, in the error shape', async () => {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: TOKEN }] as Record<
        string,
        string
      >[]) {
        const refused = await app.request('GET', '/metrics', { headers });
        expect(refused.status).toBe(401);
        expect(refused.body).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
        expect(refused.headers['www-authenticate']).toBe('Bearer realm="aos-metrics"');
        expect(JSON.stringify(refused.body)).not.toContain('acme');
      }
    });

    it('reports the lag falling to zero once the projections catch up', async () => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const scraped = (await app.request('GET', '/metrics', scraper)).body as string;
        const lags = [...scraped.matchAll(/^aos_projection_lag_events\{[^}]*\} (\S+)$/gm)].map((m) =>
          Number(m[1]),
        );
        if (lags.length > 0 && lags.every((lag) => lag === 0)) return;
        if (Date.now() > deadline) throw new Error(`lag never reached 0: ${lags}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
  });
}

describe('/metrics without AOS_METRICS_TOKEN', () => {
  it('is open, but no series names a tenant, their spend or their drift', async () => {
    const app = await startTestApp('pglite');
    try {
      const key = await app.keyFor('secretive', 'operator');
      const submitted = await app.request('POST', '/v1/runs', { key, body: plan });
      await waitForRun(app, key, submitted.body.runId, ['succeeded']);
      const response = await app.request('GET', '/metrics');
      expect(response.status).toBe(200);
      const text = response.body as string;
      expect(text).not.toContain('secretive');
      expect(text).not.toMatch(/tenant="/);
      expect(text).not.toContain('aos_cost_charged_micros_total');
      expect(text).not.toContain('aos_divergence_drift_alert');
      expect(sample(text, 'aos_runs_completed_total', { status: 'succeeded' })).toBe(1);
    } finally {
      await app.stop();
    }
  });
});

const lagAdapters: typeof sqlAdapters = [];
for (const adapter of sqlAdapters) if (await adapter.available()) lagAdapters.push(adapter);

describe('aos_projection_lag_seconds', () => {
  for (const adapter of lagAdapters) {
    it(`is how long the oldest unprocessed event has waited (${adapter.name})`, async () => {
      const appendedAt = new Date('2026-03-01T10:00:00.000Z');
      const harness = await adapter.open({ clock: () => appendedAt });
      try {
        await migrate(harness.store.client, allMigrations);
        await harness.store.append('lag-1', events(1), { expectedVersion: 'no_stream' });
        const later = new Date(appendedAt.getTime() + 90_000);
        // One event, nothing processed: 90 s behind, although no event is newer than another.
        expect((await checkpointLags(harness.store.client, ['reader'], later)).get('reader')).toMatchObject({
          behindSeconds: 90,
        });
        const { checkpoint } = await harness.store.readAll();
        await saveCheckpoint(harness.store.client, 'reader', checkpoint);
        expect((await checkpointLags(harness.store.client, ['reader'], later)).get('reader')).toMatchObject({
          behindEvents: 0,
          behindSeconds: 0,
        });
      } finally {
        await harness.cleanup();
      }
    });
  }
});
