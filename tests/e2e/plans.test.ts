// Plans that compose, end to end through the API and the executor, on PGlite and PostgreSQL:
// a fan-out of five parallel http_calls whose answers all reach one llm_invoke prompt, a
// `when` that skips a branch, a failure that compensates two completed steps in reverse
// order, and validation that refuses a bad plan with nothing written.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../domain/events/run-events.ts';
import { deterministicUuid } from '../../domain/hashing.ts';
import { certifyRun } from '../../domain/run/certify.ts';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { postgresReachable } from '../support/postgres.ts';

const stores = (await postgresReachable()) ? (['pglite', 'postgres'] as const) : (['pglite'] as const);

/**
 * A local API that counts how many requests overlap. The /answer/<n> calls of one fan-out wait
 * for each other (all five, or 2 s at most), so parallel calls overlap however slowly a loaded
 * machine starts them, and calls made one after the other never do.
 */
function startTarget() {
  const seen: string[] = [];
  let open = 0;
  let maxOpen = 0;
  let waiting: Array<() => void> = [];
  const releaseAll = () => {
    for (const release of waiting) release();
    waiting = [];
  };
  const server: Server = createServer((req, res) => {
    seen.push(req.url ?? '');
    open++;
    maxOpen = Math.max(maxOpen, open);
    const answer = /^\/answer\/(\d+)/.exec(req.url ?? '')?.[1];
    const respond = () => {
      open--;
      if (req.url?.startsWith('/missing')) {
        res.statusCode = 404;
        res.end('no such thing');
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ answer: answer === undefined ? req.url : `answer-${answer}` }));
    };
    if (answer === undefined) return respond();
    waiting.push(respond);
    if (waiting.length >= 5) releaseAll();
    else setTimeout(releaseAll, 2000);
  });
  return {
    seen,
    maxOpen: () => maxOpen,
    async listen() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.each(stores)('plans that compose on %s', (store) => {
  let app: TestApp;
  let key: string;
  let base: string;
  const target = startTarget();

  beforeAll(async () => {
    app = await startTestApp(store);
    key = await app.keyFor('acme', 'operator');
    base = await target.listen();
  });
  afterAll(async () => {
    await app.stop();
    await target.close();
  });

  const submit = async (body: unknown) => {
    const response = await app.request('POST', '/v1/runs', { key, body });
    expect(response.status, JSON.stringify(response.body)).toBe(202);
    return response.body.runId as string;
  };
  const eventsOf = async (runId: string) => {
    const response = await app.request('GET', `/v1/runs/${runId}/events?limit=1000`, { key });
    return (response.body.events as Array<{ type: string; data: unknown }>).map(
      (e) => ({ type: e.type, data: e.data }) as RunEvent,
    );
  };
  const get = (url: string) => ({ skill: 'http_call', input: { url } });

  it('fans out five parallel http_calls whose answers all reach one llm_invoke prompt', async () => {
    const fetches = [1, 2, 3, 4, 5].map((n) => ({
      id: `f${n}`,
      ...get(`${base}/answer/${n}`),
      dependsOn: [],
    }));
    const prompt = fetches.map((f) => `\${steps.${f.id}.output.body.answer}`).join(', ');
    const runId = await submit({
      agentId: 'researcher',
      plan: {
        maxParallel: 5,
        steps: [
          ...fetches,
          {
            id: 'summarise',
            skill: 'llm_invoke',
            dependsOn: fetches.map((f) => f.id),
            input: { model: 'stub', prompt: `Summarise: ${prompt}`, maxTokens: 32 },
          },
        ],
        output: { $ref: 'steps.summarise.output.text' },
      },
      budget: { maxCostMicros: 1_000_000 },
    });
    const run = await waitForRun(app, key, runId, ['succeeded', 'failed'], 30_000);
    expect(run.status, run.reason).toBe('succeeded');
    expect(target.maxOpen()).toBeGreaterThanOrEqual(2);
    const summarise = run.steps.find((s: { id: string }) => s.id === 'summarise');
    expect(summarise.attempts[0].input.value.prompt).toBe(
      'Summarise: answer-1, answer-2, answer-3, answer-4, answer-5',
    );
    expect(run.edges).toHaveLength(5);
    const output = await app.request('GET', `/v1/runs/${runId}/output`, { key });
    expect(output.status).toBe(200);
    expect(typeof output.body.output).toBe('string');
    expect(output.body.output).toBe(summarise.output.value.text);
    expect(certifyRun(await eventsOf(runId))).toMatchObject({ certified: true });
  });

  it('skips a branch whose when is false, and the steps that depend only on it', async () => {
    const runId = await submit({
      agentId: 'router',
      plan: {
        steps: [
          { id: 'probe', ...get(`${base}/probe`) },
          { id: 'premium', ...get(`${base}/premium`), when: "input.tier == 'premium'" },
          { id: 'premiumNext', ...get(`${base}/premium-next`), dependsOn: ['premium'] },
          { id: 'basic', ...get(`${base}/basic`), dependsOn: ['probe'], when: "input.tier == 'basic'" },
        ],
      },
      input: { tier: 'basic' },
      budget: { maxCostMicros: 1_000_000 },
    });
    const run = await waitForRun(app, key, runId, ['succeeded', 'failed'], 30_000);
    expect(run.status, run.reason).toBe('succeeded');
    expect(run.steps.map((s: { status: string }) => s.status)).toEqual([
      'succeeded',
      'skipped',
      'skipped',
      'succeeded',
    ]);
    expect(target.seen).not.toContain('/premium');
    expect(target.seen).not.toContain('/premium-next');
    expect(certifyRun(await eventsOf(runId))).toMatchObject({ certified: true });
  });

  it('compensates two completed steps in reverse order of completion when a step fails', async () => {
    const undo = (id: string) => ({ skill: 'http_call', input: { url: `${base}/undo/${id}` } });
    const runId = await submit({
      agentId: 'booker',
      plan: {
        steps: [
          { id: 'flight', ...get(`${base}/book/flight`), compensate: undo('flight') },
          { id: 'hotel', ...get(`${base}/book/hotel`), compensate: undo('hotel') },
          {
            id: 'pay',
            ...get(`${base}/missing/pay`),
            onFailure: 'compensate',
            retry: { maxAttempts: 1 },
          },
        ],
      },
      budget: { maxCostMicros: 1_000_000 },
    });
    const run = await waitForRun(app, key, runId, ['failed', 'compensation_failed', 'succeeded'], 30_000);
    expect(run.status, run.reason).toBe('failed');
    expect(target.seen.filter((url) => url.startsWith('/undo/'))).toEqual(['/undo/hotel', '/undo/flight']);
    expect(run.compensations).toEqual([
      { stepIndex: 1, outcome: 'succeeded' },
      { stepIndex: 0, outcome: 'succeeded' },
    ]);
    expect(run.steps.map((s: { status: string }) => s.status)).toEqual([
      'compensated',
      'compensated',
      'failed',
    ]);
    expect(certifyRun(await eventsOf(runId))).toMatchObject({ certified: true });
  });

  it('refuses a plan with a reference to a step that is not upstream: 400 naming the path, nothing written', async () => {
    const body = {
      agentId: 'broken',
      plan: {
        steps: [
          { id: 'a', ...get(`${base}/a`), dependsOn: [] },
          {
            id: 'b',
            skill: 'http_call',
            dependsOn: [],
            input: { url: { $ref: 'steps.a.output.body.next' } },
          },
        ],
      },
      budget: { maxCostMicros: 1_000 },
    };
    const headers = { 'idempotency-key': `broken-${store}` };
    for (const url of ['/v1/runs', '/v1/simulate']) {
      const response = await app.request('POST', url, { key, body, headers });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('INVALID_INPUT');
      expect(response.body.error.message).toMatch(/plan\.steps\.1\.input\.url\.\$ref: references step "a"/);
    }
    // The run that key would have created has no stream.
    const runId = deterministicUuid('run', 'acme', `broken-${store}`);
    expect(await app.store.readStream(`run-${runId}`)).toEqual([]);
  });

  it('simulates a DAG: cost summed, latency along the critical path, verdicts per step', async () => {
    const response = await app.request('POST', '/v1/simulate', {
      key,
      body: {
        agentId: 'sim',
        plan: {
          steps: [
            { id: 'a', ...get(`${base}/a`), dependsOn: [] },
            { id: 'b', ...get(`${base}/b`), dependsOn: [] },
            { id: 'c', skill: 'llm_invoke', dependsOn: ['a', 'b'], input: { model: 'stub', prompt: 'x' } },
          ],
        },
        budget: { maxCostMicros: 1_000_000 },
      },
    });
    expect(response.status).toBe(200);
    const { estimate, steps, feasible } = response.body;
    const [a, , c] = estimate.v2.steps;
    // The two fetches overlap: the critical path is one fetch then the LLM call.
    expect(estimate.v2.latencyMs).toBe(a.latencyMs + c.latencyMs);
    expect(estimate.v2.costMicros).toBe(
      estimate.v2.steps.reduce((sum: number, s: { costMicros: number }) => sum + s.costMicros, 0),
    );
    expect(steps.map((s: { id: string; dependsOn: string[] }) => [s.id, s.dependsOn])).toEqual([
      ['a', []],
      ['b', []],
      ['c', ['a', 'b']],
    ]);
    expect(feasible).toBe(true);
  });
});
