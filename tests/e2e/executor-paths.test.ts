// Every path of the run lifecycle against PostgreSQL: retries, approvals, cancellation,
// deadlines, budgets under concurrency, two executors, and a worker killed mid-call.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor } from '../../commands/executor.ts';
import { setPolicy } from '../../commands/reference-data.ts';
import type { SkillCall, SkillPort } from '../../commands/skill-port.ts';
import { defaultPolicy } from '../../domain/policy.ts';
import { StoreUnavailableError } from '../../domain/store/store-errors.ts';
import { createSqlBudgetLedger } from '../../infra/executor/sql-budget-ledger.ts';
import { createSqlRunQueue } from '../../infra/executor/sql-run-queue.ts';
import { createDefaultSkillPort } from '../../infra/skills/index.ts';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import type { SqlEventStore } from '../../infra/store/sql-event-store.ts';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { until } from '../support/events.ts';
import { createTestSchema, databaseUrl, postgresReachable } from '../support/postgres.ts';

const llm = (extra: Record<string, unknown> = {}, prompt = 'hello') => ({
  skill: 'llm_invoke',
  input: { model: 'stub', prompt, maxTokens: 16, ...extra },
});
const plan = (steps: unknown[], budget: Record<string, number> = {}) => ({
  agentId: 'tester',
  plan: { steps },
  budget: { maxCostMicros: 1_000_000, ...budget },
});

async function events(app: TestApp, key: string, runId: string) {
  const response = await app.request('GET', `/v1/runs/${runId}/events?limit=1000`, { key });
  return response.body.events as { type: string; data: any }[];
}

describe.runIf(await postgresReachable())('run lifecycle paths on PostgreSQL', () => {
  let app: TestApp;
  let key: string;
  let target: Server;
  let targetUrl: string;
  beforeAll(async () => {
    app = await startTestApp('postgres');
    key = await app.keyFor('acme', 'operator');
    target = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, key: req.headers['idempotency-key'] ?? null }));
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await app.stop();
    target.close();
  });

  const submit = async (body: unknown) => {
    const response = await app.request('POST', '/v1/runs', { key, body });
    expect(response.status, JSON.stringify(response.body)).toBe(202);
    return response.body.runId as string;
  };

  it('retries a failing call under its policy with recorded delays, then succeeds', async () => {
    const runId = await submit(
      plan([
        {
          ...llm({ stub: { failAttempts: 2, errorCode: 'RATE_LIMITED' } }),
          retry: { initialDelayMs: 10, maxAttempts: 3 },
        },
      ]),
    );
    const run = await waitForRun(app, key, runId, ['succeeded', 'failed']);
    expect(run.status).toBe('succeeded');
    expect(run.steps[0].attempts.map((a: { outcome: string }) => a.outcome)).toEqual([
      'failed',
      'failed',
      'succeeded',
    ]);
    const recorded = await events(app, key, runId);
    const retries = recorded.filter((e) => e.type === 'RetryScheduled');
    expect(retries.map((e) => e.data.nextAttempt)).toEqual([2, 3]);
    for (const retry of retries)
      expect(Date.parse(retry.data.dueAt) - Date.parse(retry.data.at)).toBe(retry.data.delayMs);
  });

  it('gives up after maxAttempts and fails the run', async () => {
    const runId = await submit(
      plan([
        {
          ...llm({ stub: { failAttempts: 9, errorCode: 'HTTP_5XX' } }),
          retry: { initialDelayMs: 5, maxAttempts: 2 },
        },
      ]),
    );
    const run = await waitForRun(app, key, runId, ['succeeded', 'failed']);
    expect(run.status).toBe('failed');
    expect(run.steps[0].attempts).toHaveLength(2);
  });

  it('waits for an approval of a side-effecting call, and goes on when an operator approves', async () => {
    const runId = await submit(
      plan([
        {
          skill: 'http_call',
          input: { url: targetUrl, method: 'POST', body: { a: 1 }, idempotencyKey: 'hook-1' },
        },
      ]),
    );
    const waiting = await waitForRun(app, key, runId, ['waiting_approval']);
    expect(waiting.steps[0].status).toBe('waiting_approval');
    const requested = (await events(app, key, runId)).find((e) => e.type === 'ApprovalRequested')!;
    const viewer = await app.keyFor('acme', 'viewer');
    const denied = await app.request('POST', `/v1/runs/${runId}/approvals/${requested.data.approvalId}`, {
      key: viewer,
      body: { decision: 'approve' },
    });
    expect(denied.status).toBe(403);
    const approved = await app.request('POST', `/v1/runs/${runId}/approvals/${requested.data.approvalId}`, {
      key,
      body: { decision: 'approve', comment: 'ok' },
    });
    expect(approved.status).toBe(200);
    const run = await waitForRun(app, key, runId, ['succeeded', 'failed']);
    expect(run.status).toBe('succeeded');
    const output = (await events(app, key, runId)).find((e) => e.type === 'SkillCallSucceeded')!;
    expect(output.data.output.body).toEqual({ method: 'POST', key: 'hook-1' });
  });

  it('ends a rejected approval as policy_denied', async () => {
    const runId = await submit(
      plan([{ skill: 'http_call', input: { url: targetUrl, method: 'DELETE', idempotencyKey: 'hook-2' } }]),
    );
    await waitForRun(app, key, runId, ['waiting_approval']);
    const requested = (await events(app, key, runId)).find((e) => e.type === 'ApprovalRequested')!;
    await app.request('POST', `/v1/runs/${runId}/approvals/${requested.data.approvalId}`, {
      key,
      body: { decision: 'reject' },
    });
    const run = await waitForRun(app, key, runId, ['policy_denied', 'failed', 'succeeded']);
    expect(run.status).toBe('policy_denied');
  });

  it('expires an approval nobody decided, failing its step with TIMEOUT', async () => {
    // A tenant whose policy gives approvers 300 ms.
    await setPolicy(
      app.store,
      'hasty',
      { version: 'hasty-1', rules: { ...defaultPolicy.rules, approvalTimeoutMs: 300 } },
      { id: 'test', role: 'admin' },
    );
    const hasty = await app.keyFor('hasty', 'operator');
    const submitted = await app.request('POST', '/v1/runs', {
      key: hasty,
      body: plan([
        { skill: 'http_call', input: { url: targetUrl, method: 'POST', idempotencyKey: 'hook-3' } },
      ]),
    });
    const runId = submitted.body.runId as string;
    const run = await waitForRun(app, hasty, runId, ['failed', 'succeeded', 'policy_denied']);
    expect(run.status).toBe('failed');
    expect(run.reason).toContain('approval expired');
    const recorded = await events(app, hasty, runId);
    const expired = recorded.find((e) => e.type === 'ApprovalExpired')!;
    const requested = recorded.find((e) => e.type === 'ApprovalRequested')!;
    expect(expired.data.approvalId).toBe(requested.data.approvalId);
    expect(recorded.some((e) => e.type === 'SkillCallStarted')).toBe(false);
    const late = await app.request('POST', `/v1/runs/${runId}/approvals/${requested.data.approvalId}`, {
      key: hasty,
      body: { decision: 'approve' },
    });
    expect(late.status).toBe(409);
  });

  it('cancels at once: the call in flight is aborted and no later step starts', async () => {
    // Long enough that the call is still out when the cancel arrives, however loaded the machine.
    const slow = llm({ stub: { delayMs: 3_000 } });
    const runId = await submit(plan([slow, slow, slow]));
    // Once the first call is in flight (a running run may not have started it yet).
    await until('the first call started', async () =>
      (await app.store.readStream(`run-${runId}`)).some((e) => e.type === 'SkillCallStarted'),
    );
    const cancel = await app.request('POST', `/v1/runs/${runId}/cancel`, {
      key,
      body: { reason: 'changed my mind' },
    });
    expect(cancel.status).toBe(202);
    const run = await waitForRun(app, key, runId, ['cancelled', 'succeeded']);
    expect(run.status).toBe('cancelled');
    expect(run.steps[0].attempts).toMatchObject([{ outcome: 'failed', errorCode: 'CANCELLED' }]);
    expect(run.steps[1].attempts).toEqual([]);
    expect(run.steps[2].attempts).toEqual([]);
  });

  it('ends a run past its deadline as timed_out', async () => {
    const runId = await submit(plan([llm({ stub: { delayMs: 600 } }), llm()], { deadlineMs: 300 }));
    const run = await waitForRun(app, key, runId, ['timed_out', 'succeeded', 'failed']);
    expect(run.status).toBe('timed_out');
  });
});

describe.runIf(await postgresReachable())('executors under concurrency on PostgreSQL', () => {
  it('never lets concurrent runs of one tenant overspend a small day budget', async () => {
    const app = await startTestApp('postgres', { AOS_TENANT_DAY_LIMIT_MICROS: '25' });
    try {
      const key = await app.keyFor('thrifty', 'operator');
      const runIds = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const response = await app.request('POST', '/v1/runs', {
            key,
            body: plan([llm({}, `question ${i}`)]),
          });
          return response.body.runId as string;
        }),
      );
      const finals = await Promise.all(
        runIds.map((runId) =>
          waitForRun(app, key, runId, ['succeeded', 'budget_exceeded', 'failed'], 30_000),
        ),
      );
      const settled = (await app.store.readAll({ limit: 10_000, filter: { types: ['BudgetSettled'] } }))
        .events;
      const spent = settled.reduce((sum, e) => sum + (e.data as { actualMicros: number }).actualMicros, 0);
      expect(spent).toBeLessThanOrEqual(25);
      const refused = finals.filter((run) => run.status === 'budget_exceeded');
      expect(refused.length).toBeGreaterThan(0);
      expect(finals.filter((run) => run.status === 'succeeded').length).toBeGreaterThan(0);
      for (const run of refused) {
        const recorded = await events(app, key, run.runId);
        expect(recorded.some((e) => e.type === 'BudgetExceeded' && e.data.scope === 'tenant_day')).toBe(true);
      }
    } finally {
      await app.stop();
    }
  }, 60_000);

  it('two executors over the same runs never execute an attempt twice', async () => {
    const app = await startTestApp('postgres', { AOS_EXECUTOR: 'off' });
    const calls = new Map<string, number>();
    const real = createDefaultSkillPort();
    const counting: SkillPort = {
      facts: (skill, version) => real.facts(skill, version),
      invoke: (call: SkillCall) => {
        const id = `${call.runId}:${call.stepIndex}:${call.attempt}`;
        calls.set(id, (calls.get(id) ?? 0) + 1);
        return real.invoke(call);
      },
    };
    const executors = ['a', 'b'].map((owner) =>
      createExecutor(
        {
          store: app.store,
          queue: createSqlRunQueue(app.store.client),
          ledger: createSqlBudgetLedger(app.store),
          skills: counting,
          clock: () => new Date(),
          dayLimitMicros: () => 1e12,
        },
        { owner, pollIntervalMs: 5, concurrency: 4 },
      ),
    );
    try {
      for (const executor of executors) executor.start();
      const key = await app.keyFor('acme', 'operator');
      const runIds: string[] = [];
      for (let i = 0; i < 24; i++) {
        const response = await app.request('POST', '/v1/runs', {
          key,
          body: plan([llm({}, `q${i}`), llm({}, `r${i}`)]),
        });
        runIds.push(response.body.runId);
      }
      for (const runId of runIds) await waitForRun(app, key, runId, ['succeeded'], 30_000);
      // The gap-free reader stays behind a transaction still open in this database (a projection
      // runner's batch), so the last starts may need a moment to be readable.
      let started: Awaited<ReturnType<typeof app.store.readAll>>['events'] = [];
      for (let tries = 0; started.length < 48 && tries < 200; tries++) {
        if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 25));
        started = (await app.store.readAll({ limit: 10_000, filter: { types: ['SkillCallStarted'] } }))
          .events;
      }
      expect(started).toHaveLength(48);
      expect(calls.size).toBe(48);
      expect([...calls.values()].every((n) => n === 1)).toBe(true);
      const owners = new Set(started.map((e) => e.metadata.actor));
      expect(owners).toEqual(new Set(['executor:a', 'executor:b']));
    } finally {
      await Promise.all(executors.map((e) => e.stop()));
      await real.close();
      await app.stop();
    }
  }, 60_000);

  it('commits an outcome with its settlement or neither: after an outage there, the attempt is lost and its reservation released', async () => {
    const app = await startTestApp('postgres', { AOS_EXECUTOR: 'off' });
    const skills = createDefaultSkillPort();
    // The store answers once with an outage to the statement that records the outcome and
    // settles its reservation (the step's transition, sent as one statement).
    let failedSettles = 0;
    const store: SqlEventStore = Object.create(app.store);
    const client = Object.create(app.store.client) as SqlEventStore['client'];
    client.query = async (sql, params) => {
      if (
        failedSettles === 0 &&
        sql.includes('aos_transition') &&
        JSON.stringify(params).includes('BudgetSettled')
      ) {
        failedSettles++;
        throw new StoreUnavailableError('injected outage in the settlement');
      }
      return app.store.client.query(sql, params);
    };
    Object.defineProperty(store, 'client', { value: client });
    const executor = createExecutor(
      {
        store,
        queue: createSqlRunQueue(app.store.client),
        ledger: createSqlBudgetLedger(store),
        skills,
        clock: () => new Date(),
        dayLimitMicros: () => 1e12,
      },
      { owner: 'flaky', pollIntervalMs: 5 },
    );
    try {
      executor.start();
      const key = await app.keyFor('acme', 'operator');
      const response = await app.request('POST', '/v1/runs', { key, body: plan([llm()]) });
      const run = await waitForRun(app, key, response.body.runId, ['succeeded'], 20_000);
      const ledger = async () =>
        (
          await app.store.readAll({
            limit: 1000,
            filter: { types: ['BudgetReserved', 'BudgetSettled', 'BudgetReleased'] },
          })
        ).events;
      await until('both reservations are closed', async () => (await ledger()).length === 4, 10_000);
      expect(failedSettles).toBe(1);
      // The rolled-back outcome was never recorded: the next claim found the call in flight.
      const events = await app.request('GET', `/v1/runs/${run.runId}/events`, { key });
      const failures = events.body.events.filter((e: { type: string }) => e.type === 'SkillCallFailed');
      expect(failures.map((e: { data: { errorCode: string } }) => e.data.errorCode)).toEqual(['WORKER_LOST']);
      const [first, second] = (await ledger()).filter((e) => e.type === 'BudgetReserved');
      const closes = (await ledger()).filter((e) => e.type !== 'BudgetReserved');
      expect(closes.map((e) => [e.type, (e.data as { reservationId: string }).reservationId])).toEqual([
        ['BudgetReleased', (first!.data as { reservationId: string }).reservationId],
        ['BudgetSettled', (second!.data as { reservationId: string }).reservationId],
      ]);
      const settled = closes.find((e) => e.type === 'BudgetSettled')!;
      expect((settled.data as { actualMicros: number }).actualMicros).toBe(run.costMicros);
    } finally {
      await executor.stop();
      await skills.close();
      await app.stop();
    }
  }, 60_000);

  it('records WORKER_LOST when an executor is killed mid-call, and finishes the run after its lease expires', async () => {
    const { schema, drop } = await createTestSchema();
    const client = createPostgresClient({ connectionString: databaseUrl, schema, maxConnections: 10 });
    const app = await startTestApp('postgres', { AOS_EXECUTOR: 'off' }, { client });
    const child = spawn(
      process.execPath,
      ['bin/run-ts.js', 'tests/support/executor-child.ts', databaseUrl, schema],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const survivor = createExecutor(
      {
        store: app.store,
        queue: createSqlRunQueue(app.store.client),
        ledger: createSqlBudgetLedger(app.store),
        skills: createDefaultSkillPort(),
        clock: () => new Date(),
        dayLimitMicros: () => 1e12,
      },
      { owner: 'survivor', leaseMs: 1500, pollIntervalMs: 20 },
    );
    try {
      const key = await app.keyFor('acme', 'operator');
      const calling = new Promise<void>((resolve) => child.stdout.on('data', () => resolve()));
      const response = await app.request('POST', '/v1/runs', { key, body: plan([llm()]) });
      await calling;
      child.kill('SIGKILL');
      survivor.start();
      const run = await waitForRun(app, key, response.body.runId, ['succeeded', 'failed'], 20_000);
      expect(run.status).toBe('succeeded');
      expect(run.steps[0].attempts.map((a: { errorCode: string | null }) => a.errorCode)).toEqual([
        'WORKER_LOST',
        null,
      ]);
      const recorded = await events(app, key, response.body.runId);
      expect(recorded.filter((e) => e.type === 'CostCharged')).toHaveLength(1);
      const released = (await app.store.readAll({ limit: 1000, filter: { types: ['BudgetReleased'] } }))
        .events;
      expect(released).toHaveLength(1);
    } finally {
      child.kill('SIGKILL');
      await survivor.stop();
      await app.stop();
      await drop();
    }
  }, 60_000);
});
