import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../domain/events/run-events.ts';
import { certifyRun } from '../../domain/run/certify.ts';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { postgresReachable } from '../support/postgres.ts';
import { replayCertified } from '../support/replay-cli.ts';

const stores = (await postgresReachable()) ? (['pglite', 'postgres'] as const) : (['pglite'] as const);

describe.each(stores)('child runs on %s', (store) => {
  let app: TestApp;
  let key: string;
  let base: string;
  const server: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ city: 'Lisbon', tide: 'high at 14:02' }));
  });

  beforeAll(async () => {
    app = await startTestApp(store);
    key = await app.keyFor('acme', 'operator');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const submit = async (body: unknown) => {
    const response = await app.request('POST', '/v1/runs', { key, body });
    expect(response.status, JSON.stringify(response.body)).toBe(202);
    return response.body.runId as string;
  };
  const detail = async (runId: string) => (await app.request('GET', `/v1/runs/${runId}`, { key })).body;
  const eventsOf = async (runId: string) => {
    const response = await app.request('GET', `/v1/runs/${runId}/events?limit=1000`, { key });
    return (response.body.events as Array<{ type: string; data: unknown }>).map(
      (e) => ({ type: e.type, data: e.data }) as RunEvent,
    );
  };
  const summariser = {
    steps: [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a plan template, resolved by the child.
      { id: 'summary', skill: 'llm_invoke', input: { model: 'stub', prompt: 'Summarise: ${input.page}' } },
    ],
    output: { $ref: 'steps.summary.output.text' },
  };

  it('invokes a child with data from a parent step and uses its output; costs add up and both certify', async () => {
    const parentId = await submit({
      agentId: 'planner',
      plan: {
        steps: [
          { id: 'fetch', skill: 'http_call', input: { url: `${base}/tides` } },
          {
            id: 'summarise',
            skill: 'agent_invoke',
            input: {
              agentId: 'summariser',
              plan: summariser,
              input: { page: { $ref: 'steps.fetch.output.body' } },
              budget: { maxCostMicros: 200_000 },
            },
          },
          {
            id: 'report',
            skill: 'json_transform',
            input: { expression: '@', data: { summary: { $ref: 'steps.summarise.output' } } },
          },
        ],
        output: { $ref: 'steps.report.output.result.summary' },
      },
      budget: { maxCostMicros: 1_000_000 },
    });
    const parent = await waitForRun(app, key, parentId, ['succeeded', 'failed'], 30_000);
    expect(parent.status, parent.reason).toBe('succeeded');
    expect(parent.children).toHaveLength(1);
    const [child] = parent.children;
    expect(child).toMatchObject({
      stepId: 'summarise',
      mode: 'invoke',
      status: 'succeeded',
      budgetMicros: 200_000,
    });
    const childDetail = await detail(child.runId);
    expect(childDetail).toMatchObject({ status: 'succeeded', parentRunId: parentId, agentId: 'summariser' });
    // The child summarised what the parent fetched, and its output reached the parent's plan output.
    const childEvents = await eventsOf(child.runId);
    const called = childEvents.find((e) => e.type === 'SkillCallStarted');
    expect(JSON.stringify(called?.data)).toContain('Lisbon');
    expect(parent.output.value).toBe(childDetail.output.value);
    expect(typeof parent.output.value).toBe('string');
    // What the child spent is the parent's cost; the child's budget held.
    expect(childDetail.costMicros).toBeGreaterThan(0);
    expect(parent.children[0].chargedMicros).toBe(childDetail.costMicros);
    expect(parent.costMicros).toBe(childDetail.costMicros);
    const parentEvents = await eventsOf(parentId);
    expect(certifyRun(parentEvents)).toMatchObject({ certified: true });
    expect(certifyRun(childEvents)).toMatchObject({ certified: true });
    // Linked by causation: the child's events name the parent run.
    const raw = await app.store.readStream(`run-${child.runId}`);
    expect(raw[0]?.metadata).toMatchObject({ causationId: parentId, actor: `run:${parentId}` });

    // The run's export holds its child; offline replay verifies and certifies the whole tree.
    const summary = await replayCertified(app, await app.keyFor('acme', 'auditor'), `run=${parentId}`);
    expect(summary.certification).toMatchObject({ runs: 2, certified: 2, failed: 0 });
    expect(summary.verification).toMatchObject({ verified: true, problemCount: 0 });
  }, 60_000);

  it('fails the parent step when its child runs out of the budget carved for it', async () => {
    const hungry = {
      steps: [
        {
          id: 'think',
          skill: 'llm_invoke',
          input: {
            model: 'stub',
            prompt: 'x'.repeat(4_000),
            maxTokens: 10,
            stub: { failAttempts: 5, usageOnFailure: true },
          },
          retry: { maxAttempts: 5, initialDelayMs: 10, maxDelayMs: 10 },
        },
      ],
    };
    // Exactly one attempt's estimate: the first fails and charges its input, the second no longer fits.
    const estimate = await app.request('POST', '/v1/simulate', {
      key,
      body: { agentId: 'hungry', plan: hungry, budget: { maxCostMicros: 1_000_000 } },
    });
    const budget = estimate.body.estimate?.v2?.costMicros ?? estimate.body.costMicros;
    expect(budget, JSON.stringify(estimate.body)).toBeGreaterThan(0);
    const parentId = await submit({
      agentId: 'planner',
      plan: {
        steps: [
          {
            id: 'delegate',
            skill: 'agent_invoke',
            input: { agentId: 'hungry', plan: hungry, budget: { maxCostMicros: budget } },
          },
        ],
      },
      budget: { maxCostMicros: 1_000_000 },
    });
    const parent = await waitForRun(app, key, parentId, ['succeeded', 'failed'], 30_000);
    expect(parent.status).toBe('failed');
    const child = await detail(parent.children[0].runId);
    expect(child.status).toBe('budget_exceeded');
    expect(child.costMicros).toBeGreaterThan(0);
    expect(child.costMicros).toBeLessThanOrEqual(budget);
    expect(parent.steps[0]).toMatchObject({ status: 'failed' });
    expect(parent.steps[0].reason).toMatch(/budget_exceeded/);
    expect(parent.costMicros).toBe(child.costMicros);
  }, 60_000);

  it('cancels a running child when its parent is cancelled', async () => {
    // Two steps: the cancel lands while the first is out, so the second never starts.
    const slow = {
      steps: [
        {
          id: 'wait',
          skill: 'llm_invoke',
          input: { model: 'stub', prompt: 'slow', stub: { delayMs: 1_500 } },
        },
        { id: 'then', skill: 'llm_invoke', input: { model: 'stub', prompt: 'never' } },
      ],
    };
    const parentId = await submit({
      agentId: 'planner',
      plan: { steps: [{ id: 'delegate', skill: 'agent_invoke', input: { agentId: 'slow', plan: slow } }] },
      budget: { maxCostMicros: 1_000_000 },
    });
    for (let i = 0; i < 200 && (await detail(parentId)).children.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const cancel = await app.request('POST', `/v1/runs/${parentId}/cancel`, {
      key,
      body: { reason: 'enough' },
    });
    expect(cancel.status, JSON.stringify(cancel.body)).toBeLessThan(300);
    const parent = await waitForRun(app, key, parentId, ['cancelled', 'succeeded', 'failed'], 30_000);
    expect(parent.status).toBe('cancelled');
    const child = await detail(parent.children[0].runId);
    expect(child.status).toBe('cancelled');
    // Asked by the parent (its call then aborted at once).
    const asked = (await eventsOf(child.runId)).find((e) => e.type === 'RunCancelRequested');
    expect(asked?.data).toMatchObject({
      actor: { id: `run:${parentId}`, role: 'system' },
      reason: `its parent run ${parentId} is ending`,
    });
    expect(child.steps[1].attempts).toEqual([]);
    expect(parent.children[0].status).toBe('cancelled');
    expect(certifyRun(await eventsOf(parentId))).toMatchObject({ certified: true });
  }, 60_000);

  it('waits at its end for a spawned child, which runs beside the steps after it', async () => {
    const parentId = await submit({
      agentId: 'planner',
      plan: {
        steps: [
          {
            id: 'background',
            skill: 'agent_spawn',
            input: { agentId: 'summariser', plan: summariser, input: { page: 'later' } },
          },
          {
            id: 'next',
            skill: 'json_transform',
            input: { expression: 'runId', data: { $ref: 'steps.background.output' } },
          },
        ],
      },
      budget: { maxCostMicros: 1_000_000 },
    });
    const parent = await waitForRun(app, key, parentId, ['succeeded', 'failed'], 30_000);
    expect(parent.status, parent.reason).toBe('succeeded');
    const [child] = parent.children;
    expect(child).toMatchObject({ mode: 'spawn', status: 'succeeded' });
    expect(parent.steps[1].output.value).toEqual({ result: child.runId });
    const events = await eventsOf(parentId);
    const order = events.map((e) => e.type);
    expect(order.indexOf('ChildRunEnded')).toBeLessThan(order.indexOf('RunCompleted'));
  }, 60_000);

  it('refuses a parent whose child plan calls an unknown skill: 400 naming the path, nothing written', async () => {
    const response = await app.request('POST', '/v1/runs', {
      key,
      headers: { 'idempotency-key': `bad-child-${store}` },
      body: {
        agentId: 'planner',
        plan: {
          steps: [
            {
              skill: 'agent_invoke',
              input: { agentId: 'x', plan: { steps: [{ skill: 'no_such_skill', input: {} }] } },
            },
          ],
        },
        budget: { maxCostMicros: 1_000 },
      },
    });
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body)).toContain('plan.steps[0].input.plan.steps[0].skill');
  });
});
