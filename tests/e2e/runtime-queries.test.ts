// The runtime queries end to end on PGlite and PostgreSQL: a real run (a local HTTP server that
// fails once, then the stub model) is asked about through POST /v1/runtime/query, its GET forms
// and the older SDK's POST /api/v1/runtime/query, each answer read from the projections the
// server runs; another tenant's run is a 404 and bad input a 400 naming the field.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalHash } from '../../domain/hashing.ts';
import { ReplayFold } from '../../replay/replay-fold.ts';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { readAllEvents } from '../support/count-events.ts';
import { postgresReachable } from '../support/postgres.ts';

const stores = (await postgresReachable()) ? (['pglite', 'postgres'] as const) : (['pglite'] as const);

/** GET /flaky answers 500 the first time, then JSON. */
function startFlaky() {
  let calls = 0;
  const server: Server = createServer((_req, res) => {
    calls++;
    res.statusCode = calls === 1 ? 500 : 200;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ calls }));
  });
  return {
    async listen() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.each(stores)('runtime queries on %s', (store) => {
  let app: TestApp;
  let key: string;
  let otherKey: string;
  let runId: string;
  let fetchInput: Record<string, unknown>;
  const flaky = startFlaky();

  const ask = (body: unknown, as = key) => app.request('POST', '/v1/runtime/query', { key: as, body });
  const askGet = (path: string, as = key) => app.request('GET', `/v1/runtime/query/${path}`, { key: as });

  /** Asks until the read models have folded what `ready` waits for. */
  async function askUntil(body: unknown, ready: (answer: any) => boolean) {
    for (let tries = 0; ; tries++) {
      const answer = await ask(body);
      if (answer.status === 200 && ready(answer.body)) return answer.body;
      if (tries > 400) throw new Error(`not ready: ${JSON.stringify(answer.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  beforeAll(async () => {
    const base = await flaky.listen();
    app = await startTestApp(store);
    key = await app.keyFor('acme', 'operator');
    otherKey = await app.keyFor('globex', 'viewer');
    fetchInput = { method: 'GET', url: `${base}/flaky` };
    const submitted = await app.request('POST', '/v1/runs', {
      key,
      body: {
        agentId: 'scout',
        plan: {
          steps: [
            {
              id: 'fetch',
              skill: 'http_call',
              input: fetchInput,
              retry: { maxAttempts: 2, initialDelayMs: 5 },
            },
            {
              id: 'answer',
              skill: 'llm_invoke',
              // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${…} reference of the plan language
              input: { model: 'stub', prompt: 'Summarise ${steps.fetch.output.body}' },
            },
          ],
        },
        budget: { maxCostMicros: 2_000_000 },
      },
    });
    expect(submitted.status).toBe(202);
    runId = submitted.body.runId;
    expect((await waitForRun(app, key, runId, ['succeeded', 'failed'])).status).toBe('succeeded');
  });
  afterAll(async () => {
    await app?.stop();
    await flaky.close();
  });

  it('what_did_i_try_already: every attempt of the run, newest first, for the run and for its agent', async () => {
    const answer = await askUntil(
      { type: 'what_did_i_try_already', runId },
      (body) => body.result.count === 3 && body.result.attempts.every((a: any) => a.outcome !== 'running'),
    );
    expect(answer).toMatchObject({ type: 'what_did_i_try_already', runId, agentId: null });
    const attempts = answer.result.attempts;
    expect(attempts.map((a: any) => [a.stepId, a.attempt, a.outcome, a.errorCode, a.category])).toEqual([
      ['answer', 1, 'succeeded', null, null],
      ['fetch', 2, 'succeeded', null, null],
      ['fetch', 1, 'failed', 'HTTP_5XX', 'TRANSIENT'],
    ]);
    expect(attempts[2]).toMatchObject({
      skill: 'http_call',
      inputHash: canonicalHash(fetchInput),
      retryable: true,
    });
    expect(Date.parse(attempts[2].startedAt)).toBeLessThanOrEqual(Date.parse(attempts[2].endedAt));

    const byAgent = await ask({ type: 'what_did_i_try_already', agentId: 'scout', params: { limit: 2 } });
    expect(byAgent.body.result.attempts).toEqual(attempts.slice(0, 2));
    const get = await askGet(`what_did_i_try_already?agentId=scout&limit=2`);
    expect(get.body).toEqual(byAgent.body);
  });

  it('remaining_budget: the run (cap, charged, in flight) and the tenant day, from the ledger', async () => {
    const detail = (await app.request('GET', `/v1/runs/${runId}`, { key })).body;
    expect(detail.costMicros).toBeGreaterThan(0);
    const answer = await askUntil(
      { type: 'remaining_budget', runId },
      (body) =>
        body.result.run.chargedMicros === detail.costMicros &&
        body.result.tenantDay.settledMicros === detail.costMicros,
    );
    expect(answer.result.run).toEqual({
      runId,
      status: 'succeeded',
      maxCostMicros: 2_000_000,
      chargedMicros: detail.costMicros,
      inFlightMicros: 0,
      remainingMicros: 2_000_000 - detail.costMicros,
    });
    expect(answer.result.tenantDay).toMatchObject({
      limitMicros: 100_000_000,
      reservedMicros: 0,
      remainingMicros: 100_000_000 - detail.costMicros,
    });
    expect((await askGet(`remaining_budget?runId=${runId}`)).body).toEqual(answer);
    const dayOnly = await askGet('remaining_budget');
    expect(dayOnly.body.result).toMatchObject({ run: null, tenantDay: answer.result.tenantDay });

    const legacy = await app.request('POST', '/api/v1/runtime/query', {
      headers: { 'x-aos-key': key },
      body: { query_type: 'remaining_budget_cents', run_id: runId },
    });
    expect(legacy.status).toBe(200);
    expect(legacy.body).toEqual({
      query_type: 'remaining_budget_cents',
      result: {
        remaining_budget_cents: Math.floor((2_000_000 - detail.costMicros) / 10_000),
        run: {
          budget_cents: 200,
          spent_cents: Math.ceil(detail.costMicros / 10_000),
          in_flight_cents: 0,
          remaining_cents: Math.floor((2_000_000 - detail.costMicros) / 10_000),
        },
        tenant_day: {
          day: answer.result.tenantDay.day,
          limit_cents: 10_000,
          spent_cents: Math.ceil(detail.costMicros / 10_000),
          reserved_cents: 0,
          remaining_cents: Math.floor((100_000_000 - detail.costMicros) / 10_000),
        },
      },
    });
  });

  it('last_step_outcome: how the run’s last step ended, also as the agent’s latest', async () => {
    const answer = await askUntil(
      { type: 'last_step_outcome', runId },
      (body) => body.result.step?.stepId === 'answer',
    );
    expect(answer.result).toMatchObject({
      runId,
      runStatus: 'succeeded',
      step: { stepId: 'answer', skill: 'llm_invoke', outcome: 'succeeded', attempts: 1, errorCode: null },
    });
    expect(typeof answer.result.step.output.value.text).toBe('string');
    expect((await ask({ type: 'last_step_outcome', agentId: 'scout' })).body.result).toEqual(answer.result);
    const legacy = await app.request('POST', '/api/v1/runtime/query', {
      headers: { 'x-aos-key': key },
      body: { query_type: 'last_step_outcome', agent_id: 'scout' },
    });
    expect(legacy.body.result).toEqual({
      run_id: runId,
      step: { step_id: 'answer', skill: 'llm_invoke', success: true, at: answer.result.step.at },
    });
  });

  it('allowed_skills and skills_available_for_goal: the policy in force, narrowed by the agent profile', async () => {
    const registered = await app.request('POST', '/v1/agents', {
      key,
      body: { name: 'talker', allowedSkills: ['llm_invoke'], defaultBudget: { maxCostMicros: 1_000_000 } },
    });
    const { agentId } = registered.body;
    const allowed = await askUntil({ type: 'allowed_skills', agentId }, (body) => body.result.agent !== null);
    const standing = Object.fromEntries(allowed.result.skills.map((s: any) => [s.name, s]));
    expect(allowed.result.agent).toEqual({ agentId, allowedSkills: ['llm_invoke'] });
    expect(standing.llm_invoke).toMatchObject({ allowed: true, approval: 'never' });
    expect(standing.http_call).toMatchObject({
      allowed: false,
      reason: `skill http_call is not in agent ${agentId}'s allowed skills`,
    });
    const anyone = await ask({ type: 'allowed_skills' });
    expect(anyone.body.result.skills.find((s: any) => s.name === 'http_call')).toMatchObject({
      allowed: true,
      approval: 'when_side_effecting',
    });

    const goal = 'Fetch the page at https://example.com/news and summarize it';
    const matched = await ask({ type: 'skills_available_for_goal', agentId, params: { goal } });
    expect(matched.status).toBe(200);
    expect(matched.body.result.skills.map((s: any) => [s.name, s.allowed, s.matched])).toEqual([
      ['http_call', false, ['fetch', 'http']],
      ['llm_invoke', true, ['summaris']],
    ]);
    const get = await askGet(`skills_available_for_goal?agentId=${agentId}&goal=${encodeURIComponent(goal)}`);
    expect(get.body).toEqual(matched.body);
    const legacy = await app.request('POST', '/api/v1/runtime/query', {
      headers: { 'x-aos-key': key },
      body: { query_type: 'skills_available_for_goal', agent_id: agentId, params: { goal } },
    });
    expect(legacy.body.result).toEqual({
      skills: [{ id: 'llm_invoke', name: 'llm_invoke', score: 1, matched: ['summaris'] }],
    });
    const legacyAllowed = await app.request('POST', '/api/v1/runtime/query', {
      headers: { 'x-aos-key': key },
      body: { query_type: 'allowed_skills' },
    });
    expect(legacyAllowed.body.result).toEqual({
      skills: ['agent_invoke', 'agent_spawn', 'http_call', 'json_transform', 'llm_invoke', 'webhook_send'],
      requires_approval: ['http_call', 'webhook_send'],
    });
  });

  it("another tenant's run is a 404, and its agent's attempts are not shown", async () => {
    for (const type of ['remaining_budget', 'what_did_i_try_already', 'last_step_outcome']) {
      const answer = await ask({ type, runId }, otherKey);
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('NOT_FOUND');
      expect((await askGet(`${type}?runId=${runId}`, otherKey)).status).toBe(404);
    }
    const legacy = await app.request('POST', '/api/v1/runtime/query', {
      headers: { 'x-aos-key': otherKey },
      body: { query_type: 'what_did_i_try_already', run_id: runId },
    });
    expect(legacy.status).toBe(404);
    const theirs = await ask({ type: 'what_did_i_try_already', agentId: 'scout' }, otherKey);
    expect(theirs.body.result).toEqual({ attempts: [], count: 0 });
  });

  it('replay folds the same rows the live runner wrote', async () => {
    const events = await readAllEvents(app.store);
    const fold = new ReplayFold();
    for (const event of events) fold.add(event);
    const replayed = fold.readModels();
    // Live rows as JSON would carry them: instants as ISO strings, bigints as numbers.
    const asJson = (row: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(row).map(([column, value]) => [
          column,
          value instanceof Date
            ? value.toISOString()
            : column.endsWith('_micros') && value !== null
              ? Number(value)
              : value,
        ]),
      );
    for (const [name, table, order] of [
      ['attempts', 'rm_attempts', 'run_id, step_index, attempt, compensation'],
      ['run_context', 'rm_run_context', 'run_id'],
    ] as const) {
      const live = (await app.store.client.query(`SELECT * FROM ${table} ORDER BY ${order}`)).map(asJson);
      const sorted = [...replayed[name]].sort((a, b) =>
        JSON.stringify([a.run_id, a.step_index, a.attempt, a.compensation]) <
        JSON.stringify([b.run_id, b.step_index, b.attempt, b.compensation])
          ? -1
          : 1,
      );
      expect(live.length).toBeGreaterThan(0);
      expect(live, name).toEqual(sorted);
    }
    const [day] = await app.store.client.query<{ reserved_micros: string; settled_micros: string }>(
      "SELECT * FROM rm_budget_days WHERE tenant_id = 'acme'",
    );
    expect(replayed.budget_days.find((row) => row.tenant_id === 'acme')).toMatchObject({
      reserved_micros: Number(day!.reserved_micros),
      settled_micros: Number(day!.settled_micros),
    });
  });

  it('refuses a question without what it needs, naming the field', async () => {
    const cases: Array<[Promise<{ status: number; body: any }>, string]> = [
      [ask({ type: 'what_did_i_try_already' }), 'runId'],
      [ask({ type: 'skills_available_for_goal', params: {} }), 'params.goal'],
      [ask({ type: 'how_much' }), 'type'],
      [askGet('last_step_outcome'), 'runId'],
      [askGet('skills_available_for_goal'), 'goal'],
      [askGet('remaining_budget?limit=0'), 'limit'],
      [
        app.request('POST', '/api/v1/runtime/query', {
          headers: { 'x-aos-key': key },
          body: { query_type: 'last_step_outcome' },
        }),
        'run_id',
      ],
    ];
    for (const [pending, field] of cases) {
      const answer = await pending;
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('INVALID_INPUT');
      expect(answer.body.error.details.issues.map((i: any) => i.path.join('.'))).toContain(field);
    }
  });
});
