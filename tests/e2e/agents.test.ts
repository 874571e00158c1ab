// Agents and planned goals end to end on PGlite and PostgreSQL: a registered agent's goal is
// planned by the rule-based planner, recorded (PlanRequested, PlanProposed, PlanAccepted) and
// run; a plan the sandbox refuses is a 422 naming its violations with the record kept; the
// LLM planner asks a local OpenAI-compatible stub; replay and certification never plan again.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitGoal } from '../../commands/agent-commands.ts';
import { deterministicUuid } from '../../domain/hashing.ts';
import { computeChargeMicros, defaultPriceTable } from '../../domain/pricing.ts';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import type { EventStore } from '../../domain/store/event-store.ts';
import { createSqlBudgetLedger } from '../../infra/executor/sql-budget-ledger.ts';
import { createPlanners } from '../../infra/planners/index.ts';
import { createDefaultSkillPort } from '../../infra/skills/index.ts';
import { RunCertifier } from '../../replay/certify-runs.ts';
import { ReplayFold } from '../../replay/replay-fold.ts';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { postgresReachable } from '../support/postgres.ts';

const stores = (await postgresReachable()) ? (['pglite', 'postgres'] as const) : (['pglite'] as const);

/** One local server: GET /data answers JSON; POST /chat/completions answers `llmPlan` as a provider would. */
function startLocal(llmPlan: () => unknown) {
  let completions = 0;
  const server: Server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url?.endsWith('/chat/completions')) {
      completions++;
      req.resume();
      req.on('end', () =>
        res.end(
          JSON.stringify({
            model: 'planner-model',
            choices: [
              {
                message: { content: `\`\`\`json\n${JSON.stringify(llmPlan())}\n\`\`\`` },
                finish_reason: 'stop',
              },
            ],
            usage: { prompt_tokens: 40, completion_tokens: 20 },
          }),
        ),
      );
      return;
    }
    res.end(JSON.stringify({ price: 42 }));
  });
  return {
    completions: () => completions,
    async listen() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const budget = { maxCostMicros: 2_000_000 };

describe.each(stores)('agents and planned goals on %s', (store) => {
  let app: TestApp;
  let key: string;
  let base: string;
  const local = startLocal(() => ({
    steps: [{ id: 'fetch', skill: 'http_call', input: { url: `${base}/data` } }],
  }));

  const register = (body: Record<string, unknown>) => app.request('POST', '/v1/agents', { key, body });
  const goal = (agentId: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    app.request('POST', `/v1/agents/${agentId}/goals`, { key, body, headers });
  const typesOf = async (streamId: string) => (await app.store.readStream(streamId)).map((e) => e.type);

  beforeAll(async () => {
    base = await local.listen();
    app = await startTestApp(store, { AOS_LLM_BASE_URL: base, AOS_PLANNER_MODEL: 'planner-model' });
    key = await app.keyFor('acme', 'operator');
  });
  afterAll(async () => {
    await app?.stop();
    await local.close();
  });

  it('plans a goal with the rules, records the plan before the run, and runs it', async () => {
    const registered = await register({
      name: 'researcher',
      allowedSkills: ['http_call', 'llm_invoke'],
      defaultBudget: budget,
    });
    expect(registered.status).toBe(201);
    expect(registered.body.profile.planner).toBe('rules');
    const { agentId } = registered.body;

    const posted = await goal(
      agentId,
      { goal: `Fetch ${base}/data and summarize it.` },
      { 'idempotency-key': 'g-1' },
    );
    expect(posted.status).toBe(202);
    const { runId } = posted.body;
    const run = await waitForRun(app, key, runId, ['succeeded', 'failed']);
    expect(run.status).toBe('succeeded');
    expect(run.agentId).toBe(agentId);
    expect(run.steps.map((s: { id: string; skill: string }) => [s.id, s.skill])).toEqual([
      ['fetch1', 'http_call'],
      ['answer', 'llm_invoke'],
    ]);
    expect(await typesOf(`goal-${runId}`)).toEqual(['PlanRequested', 'PlanProposed', 'PlanAccepted']);
    const [planned] = await app.store.readStream(`goal-${runId}`, { from: 1, limit: 1 });
    expect(planned!.data).toMatchObject({ planner: 'rules', version: 'rules-1' });
    expect((planned!.data as { promptHash: string }).promptHash).toMatch(/^[0-9a-f]{64}$/);

    const again = await goal(
      agentId,
      { goal: `Fetch ${base}/data and summarize it.` },
      { 'idempotency-key': 'g-1' },
    );
    expect(again.status).toBe(200);
    expect(again.body.runId).toBe(runId);
    expect(await typesOf(`goal-${runId}`)).toHaveLength(3);
    const reused = await goal(agentId, { goal: 'something else' }, { 'idempotency-key': 'g-1' });
    expect(reused.status).toBe(409);

    let detail: { status: number; body: any } = { status: 0, body: null };
    for (let tries = 0; tries < 400; tries++) {
      detail = await app.request('GET', `/v1/agents/${agentId}`, { key });
      if (detail.body?.recentRuns?.[0]?.status === 'succeeded') break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(detail.body).toMatchObject({ agentId, name: 'researcher', planner: 'rules' });
    expect(detail.body.recentRuns[0]).toMatchObject({ runId, status: 'succeeded' });
    const listed = await app.request('GET', '/v1/agents', { key });
    expect(listed.body.items.map((a: { agentId: string }) => a.agentId)).toContain(agentId);
    const elsewhere = await app.request('GET', `/v1/agents/${agentId}`, {
      key: await app.keyFor('globex', 'viewer'),
    });
    expect(elsewhere.status).toBe(404);
  });

  it('refuses a plan that calls a skill the agent may not use: 422 naming it, the record kept, no run', async () => {
    const { agentId } = (
      await register({ name: 'talker', allowedSkills: ['llm_invoke'], defaultBudget: budget })
    ).body;
    const posted = await goal(agentId, { goal: `Read ${base}/data` });
    expect(posted.status).toBe(422);
    expect(posted.body.error.code).toBe('PLAN_REJECTED');
    expect(posted.body.error.details.violations).toEqual([
      { path: 'plan.steps.0.skill', message: 'skill http_call is not allowed for this agent' },
    ]);
    const { runId } = posted.body.error.details;
    expect(await typesOf(`goal-${runId}`)).toEqual(['PlanRequested', 'PlanProposed', 'PlanRejected']);
    expect((await app.request('GET', `/v1/runs/${runId}`, { key })).status).toBe(404);
  });

  it('refuses bad input naming the field, writing nothing', async () => {
    const noSkills = await register({ name: 'x', allowedSkills: [], defaultBudget: budget });
    expect(noSkills.status).toBe(400);
    expect(JSON.stringify(noSkills.body.error.details)).toContain('allowedSkills');
    const unknown = await goal('00000000-0000-4000-8000-000000000000', { goal: 'hello' });
    expect(unknown.status).toBe(404);
    const { agentId } = (await register({ name: 'y', allowedSkills: ['llm_invoke'], defaultBudget: budget }))
      .body;
    const empty = await goal(agentId, { goal: '' });
    expect(empty.status).toBe(400);
    expect(JSON.stringify(empty.body.error.details)).toContain('goal');
  });

  it('plans with the LLM planner through the provider; replay and certification never ask it again', async () => {
    const { agentId } = (
      await register({
        name: 'llm-agent',
        allowedSkills: ['http_call'],
        defaultBudget: budget,
        planner: 'llm',
      })
    ).body;
    const before = local.completions();
    const posted = await goal(agentId, { goal: 'get the price' });
    expect(posted.status).toBe(202);
    expect(local.completions()).toBe(before + 1);
    const run = await waitForRun(app, key, posted.body.runId, ['succeeded', 'failed']);
    expect(run.status).toBe('succeeded');
    const [, proposed] = await app.store.readStream(`goal-${posted.body.runId}`);
    expect(proposed!.data).toMatchObject({ planner: 'llm', version: 'llm-1' });

    // The planner's call is charged like an llm_invoke: the stub's usage at the price table,
    // reserved and settled on the run's ledger, spent by the run, counted in the costs.
    const usage = { model: 'planner-model', inputTokens: 40, outputTokens: 20, cachedInputTokens: 0 };
    const expected = computeChargeMicros(usage, defaultPriceTable);
    expect(expected).toBeGreaterThan(0);
    const charge = (proposed!.data as { charge: any }).charge;
    expect(charge).toMatchObject({
      runId: posted.body.runId,
      usage,
      computedMicros: expected,
      chargedMicros: expected,
    });
    expect(charge.estimateMicros).toBeGreaterThan(0);
    const day = charge.at.slice(0, 10);
    const ledger = await app.store.readStream(`budget-acme-${day}:${posted.body.runId}`);
    // Before the run's own steps reserve theirs on the same ledger.
    expect(
      ledger.slice(0, 2).map((e) => [e.type, (e.data as { reservationId: string }).reservationId]),
    ).toEqual([
      ['BudgetReserved', charge.reservationId],
      ['BudgetSettled', charge.reservationId],
    ]);
    expect(ledger[1]!.data).toMatchObject({ actualMicros: expected });
    const [submitted] = await app.store.readStream(`run-${posted.body.runId}`, { limit: 1 });
    expect(submitted!.data).toMatchObject({ planningMicros: expected });
    const detail = await app.request('GET', `/v1/runs/${posted.body.runId}`, { key });
    expect(detail.body.costMicros).toBe(expected);
    let planner: { chargedMicros: number; charges: number } | undefined;
    for (let tries = 0; tries < 400 && !planner; tries++) {
      const costs = await app.request('GET', '/v1/costs?group_by=skill', { key });
      planner = costs.body.items.find((row: { skill: string }) => row.skill === 'planner');
      if (!planner) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(planner).toMatchObject({ charges: 1, chargedMicros: expected });

    const events: RecordedEvent[] = [];
    for (let after: any; ; ) {
      const page = await app.store.readAll({ ...(after ? { after } : {}), limit: 1000 });
      events.push(...page.events);
      if (page.events.length === 0) break;
      after = page.checkpoint;
    }
    const certifier = new RunCertifier();
    const fold = new ReplayFold();
    for (const event of events) {
      certifier.add(event);
      fold.add(event);
    }
    const report = certifier.finish();
    expect(report.failed).toBe(0);
    expect(report.results.map((r) => r.runId)).toContain(posted.body.runId);
    expect(local.completions()).toBe(before + 1);
  });
  it('refuses a goal whose planning cannot fit its budget before asking the planner: nothing recorded', async () => {
    const { agentId } = (
      await register({ name: 'poor', allowedSkills: ['http_call'], defaultBudget: budget, planner: 'llm' })
    ).body;
    const before = local.completions();
    const posted = await goal(
      agentId,
      { goal: 'get the price', budget: { maxCostMicros: 1 } },
      { 'idempotency-key': 'poor-1' },
    );
    expect(posted.status).toBe(422);
    expect(posted.body.error.code).toBe('BUDGET_EXCEEDED');
    expect(local.completions()).toBe(before);
    const runId = deterministicUuid('run', 'acme', 'poor-1');
    expect(await typesOf(`goal-${runId}`)).toEqual([]);
    expect(await typesOf(`run-${runId}`)).toEqual([]);
  });

  it('a goal retried after a crash between its proposal and its run converges on one run, planned once', async () => {
    const { agentId } = (
      await register({ name: 'crashy', allowedSkills: ['http_call'], defaultBudget: budget, planner: 'llm' })
    ).body;
    // The same commands the route calls, over a store that loses the run's submission once.
    const crashing: EventStore = new Proxy(app.store, {
      get(target, property, receiver) {
        if (property !== 'append') return Reflect.get(target, property, receiver);
        return (streamId: string, ...rest: unknown[]) => {
          if (streamId.startsWith('run-')) return Promise.reject(new Error('the process died here'));
          return (target.append as (...args: unknown[]) => unknown).call(target, streamId, ...rest);
        };
      },
    });
    const deps = {
      store: crashing,
      skills: createDefaultSkillPort({ allowHosts: ['127.0.0.1'] }),
      clock: () => new Date(),
      planners: createPlanners({ AOS_LLM_BASE_URL: base, AOS_PLANNER_MODEL: 'planner-model' }),
      ledger: createSqlBudgetLedger(app.store),
      dayLimitMicros: () => 100_000_000,
      localAllowHosts: ['127.0.0.1'],
    };
    const operator = { tenantId: 'acme', actor: { role: 'operator' as const, id: 'crash-test' } };
    const before = local.completions();
    await expect(submitGoal(deps, operator, agentId, { goal: 'get the price' }, 'crash-1')).rejects.toThrow(
      'the process died here',
    );
    expect(local.completions()).toBe(before + 1);

    const retried = await goal(agentId, { goal: 'get the price' }, { 'idempotency-key': 'crash-1' });
    expect(retried.status).toBe(202);
    const { runId } = retried.body;
    expect(await typesOf(`goal-${runId}`)).toEqual(['PlanRequested', 'PlanProposed', 'PlanAccepted']);
    expect(local.completions()).toBe(before + 1);
    const again = await goal(agentId, { goal: 'get the price' }, { 'idempotency-key': 'crash-1' });
    expect(again.status).toBe(200);
    expect(again.body.runId).toBe(runId);
    expect(await typesOf(`goal-${runId}`)).toHaveLength(3);
    expect((await typesOf(`run-${runId}`)).filter((type) => type === 'RunSubmitted')).toHaveLength(1);
    expect((await waitForRun(app, key, runId, ['succeeded', 'failed'])).status).toBe('succeeded');
  });

  it('POST /v1/agents retried with the same body and key answers the original; another body under that key is a 409', async () => {
    const body = { name: 'twice', allowedSkills: ['llm_invoke'], defaultBudget: budget };
    const headers = { 'idempotency-key': 'agent-twice' };
    const first = await app.request('POST', '/v1/agents', { key, body, headers });
    expect(first.status).toBe(201);
    const retried = await app.request('POST', '/v1/agents', { key, body, headers });
    expect(retried.status).toBe(200);
    expect(retried.body).toEqual(first.body);
    const changed = await app.request('POST', '/v1/agents', {
      key,
      body: { ...body, allowedSkills: ['http_call'] },
      headers,
    });
    expect(changed.status).toBe(409);
    expect(await typesOf(`agent-acme-${first.body.agentId}`)).toEqual(['AgentRegistered']);
    let read = { status: 0, body: null as any };
    for (let tries = 0; tries < 400 && read.status !== 200; tries++) {
      read = await app.request('GET', `/v1/agents/${first.body.agentId}`, { key });
      if (read.status !== 200) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(read.body.allowedSkills).toEqual(['llm_invoke']);
  });

  it('serves the older SDK: POST /agents, its goals and runs, POST and GET /api/v1/runs', async () => {
    const created = await app.request('POST', '/agents', { key, body: { name: 'sdk-agent' } });
    expect(created.status).toBe(201);
    const agentId = created.body.agent_id;
    const posted = await app.request('POST', `/agents/${agentId}/goals`, {
      key,
      body: { goal: `look at ${base}/data`, force_skill: 'http_call' },
    });
    expect(posted.status).toBe(202);
    const runId = posted.body.run_id;
    await waitForRun(app, key, runId, ['succeeded', 'failed']);
    const run = await app.request('GET', `/agents/${agentId}/runs/${runId}`, { key });
    expect(run.body).toMatchObject({
      id: runId,
      status: 'succeeded',
      agent_id: agentId,
      goal: `look at ${base}/data`,
    });
    expect(run.body.outcome.success).toBe(true);
    expect(run.body.completed_at).toBeTruthy();

    const submitted = await app.request('POST', '/api/v1/runs', {
      key,
      body: {
        agent_id: agentId,
        goal: 'pick a',
        plan: [{ skill: 'json_transform', params: { expression: 'a', data: { a: 1 } } }],
      },
    });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ status: 'pending', agent_id: agentId, goal: 'pick a' });
    await waitForRun(app, key, submitted.body.id, ['succeeded', 'failed']);
    const read = await app.request('GET', `/api/v1/runs/${submitted.body.id}`, { key });
    expect(read.body).toMatchObject({
      id: submitted.body.id,
      status: 'succeeded',
      outcome: { success: true, data: { result: 1 } },
    });
    const planned = await app.request('POST', '/api/v1/runs', {
      key,
      body: { agent_id: agentId, goal: 'say hi' },
    });
    expect(planned.status).toBe(202);
    expect(planned.body.goal).toBe('say hi');
    const missing = await app.request('GET', '/api/v1/runs/00000000-0000-4000-8000-000000000000', { key });
    expect(missing.status).toBe(404);
  });
});
