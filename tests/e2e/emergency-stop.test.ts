// Issue 15.4, the emergency stop under load, on PGlite and PostgreSQL. Thirty runs of one
// tenant make slow calls (several in flight) while another tenant's runs go on. The tenant's
// admin stops it: from the recorded events, no attempt of its runs starts between the stop and
// the resume, the calls in flight were aborted (EMERGENCY_STOP, long before they would have
// ended), every run shows `paused`, /readyz stays ready and the other tenant's runs finish.
// The resume lets every run finish `succeeded`; an export of them certifies. Who may stop what:
// an operator may not, an admin not another tenant, the system key every tenant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emergencyResume } from '../../commands/emergency-stop.ts';
import { createExecutor } from '../../commands/executor.ts';
import { readWholeStream } from '../../commands/handle-command.ts';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import { createSqlBudgetLedger } from '../../infra/executor/sql-budget-ledger.ts';
import { createSqlRunQueue } from '../../infra/executor/sql-run-queue.ts';
import { createDefaultSkillPort } from '../../infra/skills/index.ts';
import { SYSTEM_KEY, startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { postgresReachable } from '../support/postgres.ts';
import { replayCertified } from '../support/replay-cli.ts';

const stores = (await postgresReachable()) ? (['pglite', 'postgres'] as const) : (['pglite'] as const);
const RUNS = 30;
const CALL_MS = 1_500;
const METRICS_TOKEN = 'emergency-stop-scrape-token-0123456789';

const slowPlan = (delayMs: number) => ({
  steps: [
    { skill: 'llm_invoke', input: { model: 'stub', prompt: 'first', stub: { delayMs } } },
    { skill: 'llm_invoke', input: { model: 'stub', prompt: 'second', stub: { delayMs: 50 } } },
  ],
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.each(stores)('emergency stop on %s', (store) => {
  let app: TestApp;
  const keys: Record<string, string> = {};
  beforeAll(async () => {
    app = await startTestApp(store, { AOS_EXECUTOR_CONCURRENCY: '8', AOS_METRICS_TOKEN: METRICS_TOKEN });
    for (const tenant of ['acme', 'globex'])
      for (const role of ['admin', 'operator', 'auditor'] as const)
        keys[`${tenant}-${role}`] = await app.keyFor(tenant, role);
  });
  afterAll(() => app.stop());

  const submit = async (tenant: string, delayMs: number) => {
    const submitted = await app.request('POST', '/v1/runs', {
      key: keys[`${tenant}-operator`],
      body: { agentId: 'stop-test', plan: slowPlan(delayMs), budget: { maxCostMicros: 1_000_000 } },
    });
    expect(submitted.status).toBe(202);
    return submitted.body.runId as string;
  };
  const statusOf = async (tenant: string, runId: string) =>
    (await app.request('GET', `/v1/runs/${runId}`, { key: keys[`${tenant}-operator`] })).body
      .status as string;
  const stopEvents = () => readWholeStream(app.store, 'emergency-stop');
  const runEvents = (runId: string) => readWholeStream(app.store, `run-${runId}`);

  it('refuses an operator, and an admin stopping another tenant', async () => {
    const operator = await app.request('POST', '/v1/admin/emergency-stop', {
      key: keys['acme-operator'],
      body: { reason: 'not mine to stop' },
    });
    expect(operator.status).toBe(403);
    const otherTenant = await app.request('POST', '/v1/admin/emergency-stop', {
      key: keys['globex-admin'],
      body: { tenant: 'acme', reason: 'not mine either' },
    });
    expect(otherTenant.status).toBe(403);
    // A stop says why: without a reason it is refused, naming the field.
    const unexplained = await app.request('POST', '/v1/admin/emergency-stop', {
      key: SYSTEM_KEY,
      body: { tenant: 'acme' },
    });
    expect(unexplained.status).toBe(400);
    expect(JSON.stringify(unexplained.body.error)).toMatch(/reason/);
    const bad = await app.request('POST', '/v1/admin/emergency-stop', {
      key: SYSTEM_KEY,
      body: { tenant: 'acme', extra: 1 },
    });
    expect(bad.status).toBe(400);
    expect(await stopEvents()).toEqual([]);
    const state = await app.request('GET', '/v1/admin/emergency-stop', { key: SYSTEM_KEY });
    expect(state).toMatchObject({ status: 200, body: { stops: [] } });
  });

  it('stops a tenant under load: nothing starts after the stop, calls in flight are aborted, runs pause and then all finish', async () => {
    const acme = await Promise.all(Array.from({ length: RUNS }, () => submit('acme', CALL_MS)));
    const globex = await Promise.all(Array.from({ length: 4 }, () => submit('globex', 400)));
    // Several calls out before the stop.
    await until('calls in flight', async () => {
      const started = await Promise.all(
        acme.map(async (runId) => (await runEvents(runId)).some((e) => e.type === 'SkillCallStarted')),
      );
      return started.filter(Boolean).length >= 3 ? true : undefined;
    });

    const stopped = await app.request('POST', '/v1/admin/emergency-stop', {
      key: keys['acme-admin'],
      body: { reason: 'provider incident' },
    });
    expect(stopped.status).toBe(200);
    expect(stopped.body).toMatchObject({
      changed: true,
      stops: [{ tenantId: 'acme', actor: { role: 'admin' } }],
    });
    // Stopping again records nothing.
    const again = await app.request('POST', '/v1/admin/emergency-stop', {
      key: keys['acme-admin'],
      body: { reason: 'still the incident' },
    });
    expect(again.body).toMatchObject({ changed: false });
    expect(await app.request('GET', '/v1/emergency-stop', { key: keys['acme-operator'] })).toMatchObject({
      status: 200,
      body: { stop: { tenantId: 'acme', reason: 'provider incident' } },
    });
    expect((await app.request('GET', '/v1/emergency-stop', { key: keys['globex-operator'] })).body).toEqual({
      stop: null,
    });

    // Every run of the tenant waits paused (or had finished before the stop).
    const statuses = await until('acme paused', async () => {
      const statuses = await Promise.all(acme.map((runId) => statusOf('acme', runId)));
      return statuses.every((s) => s === 'paused' || s === 'succeeded') ? statuses : undefined;
    });
    expect((await app.request('GET', '/readyz')).status).toBe(200);
    expect(
      (await app.request('GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).body,
    ).toContain('aos_emergency_stops_in_force{tenant="acme"} 1');
    // The other tenant is not held.
    for (const runId of globex) await waitForRun(app, keys['globex-operator']!, runId, ['succeeded'], 60_000);

    const [stopEvent] = await stopEvents();
    expect(stopEvent).toMatchObject({ type: 'EmergencyStopped', data: { tenantId: 'acme' } });
    // The run's status history shows the pause.
    const pausedRun = acme[statuses.indexOf('paused')]!;
    await until('the pause in the status history', async () => {
      const history = await app.request(
        'GET',
        `/v1/status-history?entity_type=run&entity_id=${pausedRun}&new_status=paused`,
        { key: keys['acme-operator'] },
      );
      return history.body.items?.length === 1 ? true : undefined;
    });

    const resumed = await app.request('POST', '/v1/admin/emergency-stop/resume', {
      key: SYSTEM_KEY,
      body: { tenant: 'acme' },
    });
    expect(resumed).toMatchObject({ status: 200, body: { changed: true, stops: [] } });
    for (const runId of acme) await waitForRun(app, keys['acme-operator']!, runId, ['succeeded'], 120_000);

    const [, resumeEvent] = await stopEvents();
    expect(resumeEvent).toMatchObject({ type: 'EmergencyResumed', data: { tenantId: 'acme' } });
    const stopAt = BigInt(stopEvent!.globalPosition);
    const resumeAt = BigInt(resumeEvent!.globalPosition);
    const all: RecordedEvent[] = (await Promise.all(acme.map(runEvents))).flat();
    // No attempt started between the stop and its resume.
    const startsDuringStop = all.filter(
      (e) =>
        e.type === 'SkillCallStarted' &&
        BigInt(e.globalPosition) > stopAt &&
        BigInt(e.globalPosition) < resumeAt,
    );
    expect(startsDuringStop).toEqual([]);
    // The calls out were aborted, long before their 1.5 s, and retried (not counted) after the resume.
    const aborted = all.filter((e) => e.type === 'SkillCallFailed');
    expect(aborted.length).toBeGreaterThanOrEqual(1);
    for (const event of aborted) {
      expect(event.data).toMatchObject({ errorCode: 'EMERGENCY_STOP' });
      expect(BigInt(event.globalPosition)).toBeGreaterThan(stopAt);
    }
    const paused = all.filter((e) => e.type === 'RunPaused');
    expect(paused.length).toBeGreaterThanOrEqual(RUNS - 8);
    for (const event of paused) expect(BigInt(event.globalPosition)).toBeGreaterThan(stopAt);
    expect(all.filter((e) => e.type === 'RunResumed').length).toBe(paused.length);
    const completed = all.filter(
      (e) => e.type === 'StepCompleted' && (e.data as { stepIndex: number }).stepIndex === 0,
    );
    expect(completed.every((e) => (e.data as { outcome: string }).outcome === 'succeeded')).toBe(true);

    // `aos replay --certify` over the tenant's export: every run that met the stop certifies.
    const replay = await replayCertified(app, keys['acme-auditor']!);
    expect(replay.certification).toMatchObject({ failed: 0 });
    expect(replay.certification.certified).toBeGreaterThanOrEqual(RUNS);
    expect(replay.verification.verified).toBe(true);
  }, 240_000);

  it('the system key stops every tenant and resumes them', async () => {
    const stopped = await app.request('POST', '/v1/admin/emergency-stop', {
      key: SYSTEM_KEY,
      body: { reason: 'every provider down' },
    });
    expect(stopped.body).toMatchObject({ changed: true, stops: [{ tenantId: null }] });
    // An admin sees the all-tenants stop too.
    expect(
      (await app.request('GET', '/v1/admin/emergency-stop', { key: keys['globex-admin'] })).body,
    ).toMatchObject({
      stops: [{ tenantId: null }],
    });
    const runId = await submit('globex', 10);
    await until('globex paused', async () =>
      (await statusOf('globex', runId)) === 'paused' ? true : undefined,
    );
    expect((await runEvents(runId)).some((e) => e.type === 'SkillCallStarted')).toBe(false);
    // A tenant's resume does not lift the stop of every tenant.
    await app.request('POST', '/v1/admin/emergency-stop/resume', { key: keys['globex-admin'], body: {} });
    expect(await statusOf('globex', runId)).toBe('paused');
    const resumed = await app.request('POST', '/v1/admin/emergency-stop/resume', {
      key: SYSTEM_KEY,
      body: {},
    });
    expect(resumed.body).toMatchObject({ changed: true, stops: [] });
    await waitForRun(app, keys['globex-operator']!, runId, ['succeeded'], 60_000);
  }, 120_000);
  it("a resume whose wake-up was lost: the run queue's feeder makes the paused runs due", async () => {
    await app.request('POST', '/v1/admin/emergency-stop', {
      key: SYSTEM_KEY,
      body: { tenant: 'globex', reason: 'globex incident' },
    });
    const runId = await submit('globex', 10);
    await until('globex paused', async () =>
      (await statusOf('globex', runId)) === 'paused' ? true : undefined,
    );
    // Recorded, but the queue is not told (the process died before it could be).
    const unreachableQueue = { wakeHolders: () => {}, resumePaused: async () => {} };
    await emergencyResume(
      {
        store: app.store,
        ledger: createSqlBudgetLedger(app.store),
        runs: unreachableQueue,
        clock: () => new Date(),
      },
      { tenantId: 'globex', actor: { id: 'test', role: 'system' } },
    );
    // Long before the paused run's own look a minute later.
    await waitForRun(app, keys['globex-operator']!, runId, ['succeeded'], 30_000);
  }, 120_000);
});

// Three executors working the same queue (each with its own view of the stop, as processes
// would have): in commit order, no attempt starts after the stop is recorded.
describe.skipIf(!(stores as readonly string[]).includes('postgres'))(
  'emergency stop across executors on postgres',
  () => {
    it('no attempt of any executor commits after the stop; every run finishes after the resume', async () => {
      const app = await startTestApp('postgres', { AOS_EXECUTOR: 'off' });
      const skills = createDefaultSkillPort();
      const executors = ['a', 'b', 'c'].map((owner) =>
        createExecutor(
          {
            store: app.store,
            queue: createSqlRunQueue(app.store.client),
            ledger: createSqlBudgetLedger(app.store),
            skills,
            clock: () => new Date(),
            dayLimitMicros: () => 1e12,
          },
          { owner, pollIntervalMs: 20, concurrency: 4 },
        ),
      );
      try {
        for (const executor of executors) executor.start();
        const key = await app.keyFor('acme', 'operator');
        const runIds: string[] = [];
        for (let i = 0; i < 24; i++) {
          const submitted = await app.request('POST', '/v1/runs', {
            key,
            body: { agentId: 'stop-test', plan: slowPlan(800), budget: { maxCostMicros: 1_000_000 } },
          });
          runIds.push(submitted.body.runId);
        }
        const started = async () =>
          (await app.store.readAll({ limit: 10_000, filter: { types: ['SkillCallStarted'] } })).events;
        await until('calls in flight', async () => ((await started()).length >= 6 ? true : undefined));
        const stopped = await app.request('POST', '/v1/admin/emergency-stop', {
          key: SYSTEM_KEY,
          body: { reason: 'every provider down' },
        });
        expect(stopped.body).toMatchObject({ changed: true });
        await until('every run paused or done', async () => {
          const statuses = await Promise.all(
            runIds.map(async (runId) => (await app.request('GET', `/v1/runs/${runId}`, { key })).body.status),
          );
          return statuses.every((s) => s === 'paused' || s === 'succeeded') ? true : undefined;
        });
        await app.request('POST', '/v1/admin/emergency-stop/resume', { key: SYSTEM_KEY, body: {} });
        for (const runId of runIds) await waitForRun(app, key, runId, ['succeeded'], 120_000);

        // Commit order (the gap-free reader's): nothing started between the stop and the resume.
        const types = ['SkillCallStarted', 'EmergencyStopped', 'EmergencyResumed', 'RunPaused'];
        // The gap-free reader may stay behind a transaction still open elsewhere for a moment.
        const order = await until('the resume readable in commit order', async () => {
          const { events } = await app.store.readAll({ limit: 10_000, filter: { types } });
          return events.some((e) => e.type === 'EmergencyResumed') ? events : undefined;
        });
        const stopIndex = order.findIndex((e) => e.type === 'EmergencyStopped');
        const resumeIndex = order.findIndex((e) => e.type === 'EmergencyResumed');
        expect(stopIndex).toBeGreaterThan(0);
        expect(order.slice(stopIndex, resumeIndex).filter((e) => e.type === 'SkillCallStarted')).toEqual([]);
        const pausedBy = new Set(
          order
            .slice(stopIndex, resumeIndex)
            .filter((e) => e.type === 'RunPaused')
            .map((e) => e.metadata.actor),
        );
        expect(pausedBy.size).toBeGreaterThan(1);
      } finally {
        await Promise.all(executors.map((e) => e.stop()));
        await app.stop();
      }
    }, 240_000);
  },
);
