// Agents and planned goals end to end on PGlite and PostgreSQL: a registered agent's goal is
// planned by the rule-based planner, recorded (PlanRequested, PlanProposed, PlanAccepted) and
// run; a plan the sandbox refuses is a 422 naming its violations with the record kept; the
// LLM planner asks a local OpenAI-compatible stub; replay and certification never plan again.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
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
