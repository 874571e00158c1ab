// The typed client (client/) against a real server: every answer it types is the server's,
// and errors arrive as AosError with the API's code, the status and the details.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AosClient, AosError } from '../../client/index.ts';
import { SYSTEM_KEY, startTestApp, type TestApp } from '../support/app.ts';

describe('AosClient', () => {
  let app: TestApp;
  let baseUrl: string;
  let key: string;
  beforeAll(async () => {
    app = await startTestApp('pglite');
    baseUrl = await app.server.listen({ port: 0, host: '127.0.0.1' });
    key = await app.keyFor('client', 'operator');
  });
  afterAll(() => app.stop());

  it('submits a run and reads it back through typed methods', async () => {
    const client = new AosClient({ baseUrl, apiKey: key });
    const receipt = await client.submitRun({
      headers: { 'idempotency-key': 'client-1' },
      body: {
        agentId: 'client',
        plan: { steps: [{ skill: 'json_transform', input: { expression: 'a', data: { a: 1 } } }] },
        budget: { maxCostMicros: 1_000_000 },
      },
    });
    expect(receipt.status).toBe('queued');
    const again = await client.submitRun({
      headers: { 'idempotency-key': 'client-1' },
      body: {
        agentId: 'client',
        plan: { steps: [{ skill: 'json_transform', input: { expression: 'a', data: { a: 1 } } }] },
        budget: { maxCostMicros: 1_000_000 },
      },
    });
    expect(again.runId).toBe(receipt.runId);
    const detail = await client.getRun({ params: { id: receipt.runId } });
    expect(detail.runId).toBe(receipt.runId);
    expect(detail.steps[0]!.skill).toBe('json_transform');
    const events = await client.runEvents({ params: { id: receipt.runId }, query: { limit: 1 } });
    expect(events.events[0]!.type).toBe('RunSubmitted');
    const page = await client.listRuns({ query: { agent: 'client' } });
    expect(page.items.map((run) => run.runId)).toContain(receipt.runId);
    expect((await client.whoami()).role).toBe('operator');
  });

  it('types each request by its route schema (checked by tsc)', () => {
    const client = new AosClient();
    const neverCalled = () => {
      // @ts-expect-error a run's id is required
      void client.getRun();
      // @ts-expect-error agentId is a string
      void client.submitRun({ body: { agentId: 1, plan: { steps: [] }, budget: { maxCostMicros: 1 } } });
    };
    expect(neverCalled).toBeTypeOf('function');
  });

  it('gives streams as the Response itself', async () => {
    const client = new AosClient({ baseUrl, apiKey: key });
    const csv = await client.raw('statusHistory', { query: { format: 'csv' } });
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect((await csv.text()).split('\n')[0]).toMatch(/^id,entity_type/);
  });

  it('throws AosError with the code, the status and the details', async () => {
    const client = new AosClient({ baseUrl, apiKey: key });
    const invalid = await client.listRuns({ query: { start_time: 'yesterday' } }).catch((error) => error);
    expect(invalid).toBeInstanceOf(AosError);
    expect(invalid).toMatchObject({ status: 400, code: 'INVALID_INPUT' });
    expect(invalid.message).toMatch(/start_time/);
    expect(invalid.details.issues[0].path).toEqual(['start_time']);

    const forbidden = await client.listKeys().catch((error) => error);
    expect(forbidden).toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
      message: 'an operator key may not manage keys',
    });

    let signedOut = 0;
    const revoked = new AosClient({ baseUrl, apiKey: 'aos_nope', onUnauthenticated: () => signedOut++ });
    await expect(revoked.whoami()).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect(signedOut).toBe(1);

    const system = new AosClient({ baseUrl, apiKey: SYSTEM_KEY });
    await expect(
      system.rebuildProjection({ params: { name: 'run_detail' }, body: { everything: true } as never }),
    ).rejects.toMatchObject({ status: 400, code: 'INVALID_INPUT' });

    const unreachable = new AosClient({ baseUrl: 'http://127.0.0.1:1', apiKey: key });
    await expect(unreachable.whoami()).rejects.toMatchObject({ status: 0, code: 'NETWORK' });
  });
});
