// `aos replay --db` on PostgreSQL: the events read straight from the store (DATABASE_URL, read
// only) re-fold into the read models the API serves, and every run certifies — one of them
// cancelled while it waited for an approval, which its end closed (ApprovalClosed).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresClient } from '../../infra/store/postgres-client.ts';
import { startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { createTestSchema, databaseUrl, postgresReachable } from '../support/postgres.ts';

const exec = promisify(execFile);

describe.runIf(await postgresReachable())('aos replay --db on PostgreSQL', () => {
  let app: TestApp;
  let dir: string;
  let schema: string;
  let drop: () => Promise<void>;
  let auditor: string;
  let address: string;

  beforeAll(async () => {
    ({ schema, drop } = await createTestSchema());
    const client = createPostgresClient({ connectionString: databaseUrl, schema, maxConnections: 10 });
    app = await startTestApp('postgres', {}, { client });
    const operator = await app.keyFor('acme', 'operator');
    auditor = await app.keyFor('acme', 'auditor');
    const other = await app.keyFor('globex', 'operator');
    const runIds: string[] = [];
    for (const [key, prompt] of [
      [operator, 'one'],
      [operator, 'two'],
      [other, 'elsewhere'],
    ] as const) {
      const submitted = await app.request('POST', '/v1/runs', {
        key,
        body: {
          agentId: 'replayer',
          plan: { steps: [{ skill: 'llm_invoke', input: { model: 'stub', prompt, maxTokens: 8 } }] },
          budget: { maxCostMicros: 1_000_000 },
        },
      });
      runIds.push(submitted.body.runId);
      await waitForRun(app, key, submitted.body.runId, ['succeeded']);
    }
    // A side-effecting POST waits for approval under the default policy; cancelled, it closes it.
    const waiting = await app.request('POST', '/v1/runs', {
      key: operator,
      body: {
        agentId: 'replayer',
        plan: {
          steps: [
            {
              skill: 'http_call',
              input: { url: 'http://127.0.0.1:9/hook', method: 'POST', idempotencyKey: 'hook-1' },
            },
          ],
        },
        budget: { maxCostMicros: 1_000_000 },
      },
    });
    await waitForRun(app, operator, waiting.body.runId, ['waiting_approval']);
    await app.request('POST', `/v1/runs/${waiting.body.runId}/cancel`, { key: operator, body: {} });
    await waitForRun(app, operator, waiting.body.runId, ['cancelled']);
    for (;;) {
      const listed = await app.request('GET', '/v1/runs', { key: auditor });
      const closed = await app.request('GET', '/v1/approvals?status=closed', { key: auditor });
      if (
        listed.body.items.length === 3 &&
        listed.body.items.every((r: { status: string }) => ['succeeded', 'cancelled'].includes(r.status)) &&
        closed.body.items.length === 1
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    address = await app.server.listen({ host: '127.0.0.1', port: 0 });
    dir = await mkdtemp(join(tmpdir(), 'aos-replay-db-'));
  });
  afterAll(async () => {
    await app.stop();
    await drop();
    await rm(dir, { recursive: true, force: true });
  });

  it("re-folds the store's events into the live read models of the tenant, and certifies its runs", async () => {
    const url = `${databaseUrl}${databaseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const { stdout } = await exec(
      'node',
      ['bin/aos.js', 'replay', '--db', '--tenant', 'acme', '--out', dir, '--compare', '--certify', '--json'],
      { env: { ...process.env, DATABASE_URL: url, AOS_URL: address, AOS_API_KEY: auditor } },
    );
    const summary = JSON.parse(stdout);
    expect(summary.comparison.differences).toEqual([]);
    expect(summary.ok).toBe(true);
    expect(summary.rows.runs).toBe(3);
    expect(summary.rows.approvals).toBe(1);
    expect(summary.certification).toMatchObject({ runs: 3, certified: 3 });
  });
});
