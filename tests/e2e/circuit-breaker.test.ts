// Issue 15.3: a circuit breaker per tenant and target. A local provider answers 503 to every
// call; with the tenant's policy at 3 failures / 60 s / 5 s cooldown, the breaker opens after
// exactly 3 calls, a fourth run's attempt records CIRCUIT_OPEN without calling, and once the
// cooldown has passed three runs at once let exactly one probe through (which fails and opens
// it again). When the provider recovers, the next probe closes it. Every state change is in the
// breaker's stream, GET /v1/capabilities shows it, aos_circuit_breaker_state says the same on
// this instance and on another that changed nothing, and every run certifies. PGlite and PostgreSQL.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBreakerGauge } from '../../api/breaker-metrics.ts';
import { breakerStreamId } from '../../commands/breaker-gate.ts';
import type { RunEvent } from '../../domain/events/run-events.ts';
import { certifyRun } from '../../domain/run/certify.ts';
import { createPrometheusMetrics } from '../../infra/metrics/prometheus.ts';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { until } from '../support/events.ts';
import { postgresReachable } from '../support/postgres.ts';
import { sample } from '../support/prometheus-text.ts';
import { replayCertified } from '../support/replay-cli.ts';

const stores = (await postgresReachable()) ? (['pglite', 'postgres'] as const) : (['pglite'] as const);
// Long enough for three runs to reach the breaker within one cooldown on a slow machine.
const COOLDOWN_MS = 5_000;
const METRICS_TOKEN = `aos_metrics_${'t'.repeat(32)}`;

async function provider() {
  let calls = 0;
  let healthy = false;
  const server: Server = createServer((request, response) => {
    request.resume();
    calls++;
    response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
    response.end(JSON.stringify(healthy ? { ok: true } : { error: 'down' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    host: `127.0.0.1:${port}`,
    calls: () => calls,
    recover: () => {
      healthy = true;
    },
  };
}

describe.each(stores)('circuit breaker on %s', (store) => {
  let app: TestApp;
  let stub: Awaited<ReturnType<typeof provider>>;
  let key: string;
  const runIds: string[] = [];
  beforeAll(async () => {
    stub = await provider();
    app = await startTestApp(store, { AOS_METRICS_TOKEN: METRICS_TOKEN });
    key = await app.keyFor('acme', 'operator');
    const admin = await app.keyFor('acme', 'admin');
    const policy = (await app.request('GET', '/v1/policy', { key: admin })).body;
    const rules = {
      ...policy.rules,
      circuitBreaker: { failureThreshold: 3, windowMs: 60_000, cooldownMs: COOLDOWN_MS },
    };
    const put = await app.request('PUT', '/v1/policy', { key: admin, body: { version: 'breaker-1', rules } });
    expect(put.status).toBe(200);
  });
  afterAll(async () => {
    await app.stop();
    await new Promise((resolve) => stub.server.close(resolve));
  });

  const submit = async () => {
    const submitted = await app.request('POST', '/v1/runs', {
      key,
      body: {
        agentId: 'fetcher',
        plan: {
          steps: [
            { skill: 'http_call', input: { url: `http://${stub.host}/data` }, retry: { maxAttempts: 1 } },
          ],
        },
        budget: { maxCostMicros: 100_000 },
      },
    });
    expect(submitted.status).toBe(202);
    runIds.push(submitted.body.runId);
    return submitted.body.runId as string;
  };
  const finish = (runId: string) => waitForRun(app, key, runId, ['succeeded', 'failed'], 15_000);
  const errorOf = async (runId: string) => {
    const events = (await app.request('GET', `/v1/runs/${runId}/events?limit=100`, { key })).body.events;
    return events.find((e: { type: string }) => e.type === 'SkillCallFailed')?.data.errorCode as
      | string
      | undefined;
  };
  const breakerEvents = async () =>
    (await app.store.readStream(breakerStreamId('acme', `http_call:${stub.host}`))).map((e) => e.type);
  const capabilityOf = async () => {
    for (let i = 0; i < 200; i++) {
      const found = (await app.request('GET', '/v1/capabilities', { key })).body.breakers?.[0];
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return undefined;
  };
  /** The breaker as GET /v1/capabilities shows it once its read model has caught up with `status`. */
  const capabilityWhen = async (status: string) => {
    let breaker: Awaited<ReturnType<typeof capabilityOf>>;
    await until(`the breaker shows ${status}`, async () => {
      breaker = await capabilityOf();
      return breaker?.status === status;
    });
    return breaker;
  };

  // aos_circuit_breaker_state of the breaker as this app's /metrics and another instance's
  // registry (on the same database, having changed no breaker) report it.
  const breakerGauges = async () => {
    const labels = { tenant: 'acme', target: `http_call:${stub.host}` };
    const scraped = await app.request('GET', '/metrics', {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    const another = createPrometheusMetrics();
    registerBreakerGauge(another, app.store.client);
    return [
      sample(scraped.body as string, 'aos_circuit_breaker_state', labels),
      sample(await another.tenantRegistry.metrics(), 'aos_circuit_breaker_state', labels),
    ];
  };

  it('opens after exactly N failures and refuses the next call without making it', async () => {
    for (let i = 0; i < 3; i++) {
      const run = await finish(await submit());
      expect(run.status).toBe('failed');
    }
    expect(stub.calls()).toBe(3);
    expect(await breakerEvents()).toEqual([
      'BreakerFailureRecorded',
      'BreakerFailureRecorded',
      'BreakerFailureRecorded',
      'BreakerOpened',
    ]);
    const refused = await submit();
    expect((await finish(refused)).status).toBe('failed');
    expect(await errorOf(refused)).toBe('CIRCUIT_OPEN');
    expect(stub.calls()).toBe(3);

    const breaker = await capabilityWhen('open');
    expect(breaker).toMatchObject({ target: `http_call:${stub.host}`, status: 'open' });
    expect(Date.parse(breaker.halfOpenAt)).toBeGreaterThan(Date.now() - COOLDOWN_MS);
    expect(await breakerGauges()).toEqual([2, 2]);
  }, 30_000);

  it('after the cooldown lets exactly one probe through; its failure opens it again', async () => {
    await new Promise((resolve) => setTimeout(resolve, COOLDOWN_MS + 100));
    const runs = await Promise.all([submit(), submit(), submit()]);
    const ended = await Promise.all(runs.map(finish));
    expect(ended.map((r) => r.status)).toEqual(['failed', 'failed', 'failed']);
    expect(stub.calls()).toBe(4);
    const codes = await Promise.all(runs.map(errorOf));
    expect(codes.filter((code) => code === 'HTTP_5XX')).toHaveLength(1);
    expect(codes.filter((code) => code === 'CIRCUIT_OPEN')).toHaveLength(2);
    expect((await breakerEvents()).slice(4)).toEqual(['BreakerProbeStarted', 'BreakerOpened']);
  }, 30_000);

  it('closes when a probe succeeds, and every run certifies', async () => {
    stub.recover();
    await new Promise((resolve) => setTimeout(resolve, COOLDOWN_MS + 100));
    const run = await finish(await submit());
    expect(run.status).toBe('succeeded');
    expect(stub.calls()).toBe(5);
    expect((await breakerEvents()).slice(6)).toEqual(['BreakerProbeStarted', 'BreakerClosed']);
    const breaker = await capabilityWhen('closed');
    expect(breaker).toMatchObject({ status: 'closed', halfOpenAt: null });
    expect(await breakerGauges()).toEqual([0, 0]);

    for (const runId of runIds) {
      const events = (await app.request('GET', `/v1/runs/${runId}/events?limit=100`, { key })).body.events;
      const certified = certifyRun(events.map((e: RunEvent) => ({ type: e.type, data: e.data }) as RunEvent));
      expect(certified, runId).toMatchObject({ certified: true });
    }
    // The tenant's export (runs and breaker streams) as `aos replay --certify` reads it.
    const summary = await replayCertified(app, await app.keyFor('acme', 'auditor'));
    expect(summary.certification).toMatchObject({ runs: runIds.length, certified: runIds.length, failed: 0 });
    expect(summary.verification).toMatchObject({ verified: true, problemCount: 0 });
  }, 60_000);
});
